"""The optional ``fontsize`` keywords of the figures notebooks 00 and 02 project (defaults unchanged)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib import drawing, plotting, widgets  # noqa: E402

IMAGE = np.eye(5)
KERNEL = np.ones((3, 3))


def _sizes(fig):
    return {t.get_fontsize() for ax in fig.axes for t in ax.texts + [ax.title] if t.get_text()}


def test_show_images_fontsize_sets_captions_and_grows_the_figure():
    images = np.zeros((4, 6, 6))
    plain = plotting.show_images(images, [0, 1, 0, 1], ncols=2)
    big = plotting.show_images(images, [0, 1, 0, 1], ncols=2, fontsize=12)
    assert {ax.title.get_fontsize() for ax in plain.axes} == {8}
    assert {ax.title.get_fontsize() for ax in big.axes} == {12}
    assert big.get_size_inches()[1] > plain.get_size_inches()[1]
    with pytest.raises(ValueError):
        plotting.show_images(images, fontsize=0)
    plt.close("all")


def test_draw_im2col_fontsize():
    plain = drawing.draw_im2col(IMAGE, 3)
    big = drawing.draw_im2col(IMAGE, 3, fontsize=12)
    assert min(_sizes(plain.figure)) < 11 and min(_sizes(big.figure)) >= 12
    assert big.figure.get_size_inches()[0] <= 11.0
    with pytest.raises(ValueError):
        drawing.draw_im2col(IMAGE, 3, fontsize=-1)
    plt.close("all")


def test_show_sliding_window_fontsize_and_ncols():
    fig = widgets.show_sliding_window(IMAGE, KERNEL, static=True, fontsize=12, ncols=1)
    width, height = fig.get_size_inches()
    assert width < height  # one panel per row
    texts = [t for sub in fig.subfigs for ax in sub.axes for t in ax.texts if t.get_text()]
    assert texts and min(t.get_fontsize() for t in texts) >= 12
    plt.close("all")
