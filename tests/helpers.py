"""Small builders shared by the unit tests."""
from pathlib import Path


def make_jpeg(path: Path, colour=(200, 30, 30), size=(40, 32), mode="RGB"):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, colour)
    if mode != "RGB":
        image = image.convert(mode)
    image.save(path, format="PNG" if path.suffix.lower() == ".png" else "JPEG")
    return path
