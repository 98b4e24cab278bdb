"""torch.jit.save without the `*.debug_pkl` records, so that a committed TorchScript file names no machine path.

torch.jit.save (torch 1.13) writes, beside each `code/**.py` record, a `code/**.py.debug_pkl` record: the source
ranges of the generated code, which hold the absolute path of every Python file the module was scripted from
(the caller's script under the checkout, torch's own under /usr/lib/python3). It has no switch to leave them out.
The records are optional: the importer reads one only if the archive has it, so torch.jit.load (1.13) and
LibTorch's torch::jit::load (2.10, through the Java tests) load the files without them, with the same code and
tensors; a TorchScript traceback then cites the lines of the generated `code/**.py` rather than those of the
original source. Nothing else changes.

`strip_debug_records` rewrites the archive torch wrote: every other record is copied as it was (name, header
fields, compressed bytes, data descriptor, in the same order); only the offsets and the "FB" padding that aligns
each record's data to 64 bytes (as torch's PyTorchStreamWriter does) are recomputed. Anything it does not expect
from torch's writer (a zip comment, extra fields other than the padding, multi-disk archives) stops it.
"""

import io
import os
import struct
import tempfile
import zipfile

import torch

ALIGNMENT = 64  # caffe2::serialize::kFieldAlignment
LOCAL = struct.Struct("<IHHHHHIIIHH")  # local file header, 30 bytes
CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")  # central directory header, 46 bytes
ZIP64_END = struct.Struct("<IQHHIIQQQQ")  # zip64 end of central directory record, 56 bytes
ZIP64_LOCATOR = struct.Struct("<IIQI")  # 20 bytes
END = struct.Struct("<IHHHHIIH")  # end of central directory record, 22 bytes
LOCAL_SIG, CENTRAL_SIG, ZIP64_END_SIG, ZIP64_LOCATOR_SIG, END_SIG = (
    0x04034B50, 0x02014B50, 0x06064B50, 0x07064B50, 0x06054B50)
DEBUG_SUFFIX = ".debug_pkl"


def save_without_debug_records(module, path):
    """torch.jit.save(module) to path, without the `*.debug_pkl` records; returns the names of the dropped ones."""
    # Saved under the same file name, because torch names the archive's top folder after it ("archive" for a buffer).
    with tempfile.TemporaryDirectory() as scratch:
        saved = os.path.join(scratch, os.path.basename(path))
        torch.jit.save(module, saved)
        with open(saved, "rb") as f:
            stripped, dropped = strip_debug_records(f.read())
    with open(path, "wb") as f:
        f.write(stripped)
    return dropped


def padding(offset, name):
    """The extra field torch's writer gives a record whose local header starts at offset: "FB", a 16-bit length,
    then that many "Z", so that the record's data starts on a multiple of ALIGNMENT."""
    start = offset + LOCAL.size + len(name) + 4
    n = -start % ALIGNMENT
    return b"FB" + struct.pack("<H", n) + b"Z" * n


def strip_debug_records(data):
    """(archive, names): the zip archive `data` written by torch.jit.save, without its `*.debug_pkl` records, and
    the names of the records dropped. Raises ValueError on anything torch 1.13's writer does not produce."""
    end_at = len(data) - END.size
    sig, disk, cd_disk, n_disk, n, cd_size, cd_offset, comment = END.unpack_from(data, end_at)
    if sig != END_SIG or comment != 0 or disk != 0 or cd_disk != 0 or n_disk != n:
        raise ValueError("not a single-disk zip without comment, as torch writes")
    zip64 = ZIP64_LOCATOR.unpack_from(data, end_at - ZIP64_LOCATOR.size)[0] == ZIP64_LOCATOR_SIG
    cd_end = end_at - (ZIP64_LOCATOR.size + ZIP64_END.size if zip64 else 0)
    if cd_offset + cd_size != cd_end:
        raise ValueError("the central directory does not end where the end records start")

    entries = []  # (central header fields, name, raw central record tail, local header offset)
    at = cd_offset
    for _ in range(n):
        fields = CENTRAL.unpack_from(data, at)
        name_len, extra_len, comment_len, local_at = fields[10], fields[11], fields[12], fields[16]
        if fields[0] != CENTRAL_SIG or extra_len != 0 or comment_len != 0:
            raise ValueError(f"unexpected central directory record at {at}")
        name = data[at + CENTRAL.size:at + CENTRAL.size + name_len]
        entries.append((fields, name, local_at))
        at += CENTRAL.size + name_len
    if at != cd_end or [e[2] for e in entries] != sorted(e[2] for e in entries):
        raise ValueError("the central directory is not in file order")

    out = bytearray()
    central = bytearray()
    dropped = []
    for i, (fields, name, local_at) in enumerate(entries):
        record_end = entries[i + 1][2] if i + 1 < len(entries) else cd_offset
        local = list(LOCAL.unpack_from(data, local_at))
        name_len, extra_len = local[9], local[10]
        if local[0] != LOCAL_SIG or data[local_at + LOCAL.size:local_at + LOCAL.size + name_len] != name:
            raise ValueError(f"the local header of {name!r} does not match the central directory")
        extra = data[local_at + LOCAL.size + name_len:local_at + LOCAL.size + name_len + extra_len]
        if extra != padding(local_at, name):
            raise ValueError(f"{name!r} has an extra field other than torch's alignment padding")
        if name.decode("utf-8").endswith(DEBUG_SUFFIX):
            dropped.append(name.decode("utf-8"))
            continue
        # Data and data descriptor, exactly as written.
        body = data[local_at + LOCAL.size + name_len + extra_len:record_end]
        new_at = len(out)
        new_extra = padding(new_at, name)
        local[10] = len(new_extra)
        out += LOCAL.pack(*local) + name + new_extra + body
        moved = list(fields)
        moved[16] = new_at
        central += CENTRAL.pack(*moved) + name

    kept = len(entries) - len(dropped)
    new_cd_offset = len(out)
    out += central
    if zip64:
        z = list(ZIP64_END.unpack_from(data, cd_end))
        if z[0] != ZIP64_END_SIG or z[1] != ZIP64_END.size - 12 or z[6] != n or z[7] != n:
            raise ValueError("unexpected zip64 end of central directory record")
        z[6], z[7], z[8], z[9] = kept, kept, len(central), new_cd_offset
        zip64_at = len(out)
        out += ZIP64_END.pack(*z)
        loc = list(ZIP64_LOCATOR.unpack_from(data, end_at - ZIP64_LOCATOR.size))
        loc[2] = zip64_at
        out += ZIP64_LOCATOR.pack(*loc)
    out += END.pack(END_SIG, 0, 0, kept, kept, len(central), new_cd_offset, 0)
    check(data, bytes(out), dropped)
    return bytes(out), dropped


def check(original, stripped, dropped):
    """The stripped archive reads back, CRCs included, with every kept record equal to the original's."""
    with zipfile.ZipFile(io.BytesIO(original)) as a, zipfile.ZipFile(io.BytesIO(stripped)) as b:
        if b.testzip() is not None:
            raise ValueError(f"bad CRC in {b.testzip()}")
        kept = [i.filename for i in a.infolist() if i.filename not in dropped]
        if [i.filename for i in b.infolist()] != kept:
            raise ValueError("records lost or reordered")
        for info in b.infolist():
            if b.read(info.filename) != a.read(info.filename):
                raise ValueError(f"{info.filename} changed")
            local = LOCAL.unpack_from(stripped, info.header_offset)
            if (info.header_offset + LOCAL.size + local[9] + local[10]) % ALIGNMENT:
                raise ValueError(f"{info.filename} is not aligned")
