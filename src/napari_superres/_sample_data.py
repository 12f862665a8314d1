"""Sample data: images bundled with scikit-image, shrunk the way SR benchmarks do."""

from skimage import data

from .resize import imresize


def low_resolution_astronaut():
    """scikit-image's astronaut (512² RGB) shrunk x4 by MATLAB bicubic: 128² uint8."""
    return imresize(data.astronaut(), 1 / 4, channel_axis=-1)


def make_sample_data():
    """The napari sample-data contribution: a low-resolution astronaut."""
    return [
        (
            low_resolution_astronaut(),
            {"name": "astronaut (x4 low-res)", "rgb": True},
            "image",
        )
    ]
