"""QR codes as inline SVG, so a phone can open a link shown on a screen or a handout."""

import segno
from markupsafe import Markup


def qr_svg(url: str, title: str) -> Markup:
    code = segno.make(url, error="m")
    svg = code.svg_inline(scale=5, dark="#0b0c0c", light="#ffffff", title=title, border=2)
    return Markup(svg.replace("<svg ", '<svg role="img" class="qr" ', 1))
