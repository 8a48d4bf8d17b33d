"""Words the commands and napari's widget share: counted nouns (``1 volume``, ``2 volumes``) and the notes on how a
volume's level 1 was found. Imports nothing, so that the widget can use it before torch is loaded."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, in the plural (``plural``, else ``noun + "s"``) unless ``n`` is 1.

    >>> count(1, "volume"), count(3, "volume"), count(0, "pass", "passes")
    ('1 volume', '3 volumes', '0 passes')
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


#: What a volume's level 1 did where its first two clusters found no object in a field of view (the ``retried`` and
#: ``contrast`` of :class:`hypseg.inference.recipe.VolumeSegmentation`), in the words the command line and napari's
#: widget report it with
RETRIED_NOTE = ("level 1's two clusters lay across the whole image, so its object is the cluster off the faces of a "
                "second try with more clusters")
CONTRAST_NOTE = ("level 1 finds no object in a field of view, so its object is the rarer part of its local contrast "
                 "(small objects scattered through the image)")
