"""Web fakes for tests: a dict-backed DNS resolver and a minimal PDF with a text layer."""

from __future__ import annotations

import zlib


class FakeDNS:
    """A resolver (``EgressPolicy(resolver=...)``) backed by a dict; records every lookup."""

    def __init__(self, table: dict[str, list[str]]):
        self.table = table
        self.lookups: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.lookups.append(host)
        if host not in self.table:
            raise OSError(f"NXDOMAIN {host}")
        return self.table[host]


def minimal_pdf(text: str, *, font_size: int = 12, compress: bool = False) -> bytes:
    """A one-page PDF showing ``text``, built by hand (offsets computed, so the xref is valid)."""
    stream = f"BT /F1 {font_size} Tf 72 720 Td ({text}) Tj ET".encode()
    if compress:
        stream = zlib.compress(stream)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        (b"<< /Length %d /Filter /FlateDecode >>" if compress else b"<< /Length %d >>") % len(stream)
        + b"\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
