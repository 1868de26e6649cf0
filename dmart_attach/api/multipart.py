"""Reading an upload form from the request stream, the file going straight to its staged file."""

import asyncio
import contextlib
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from anyio import to_thread
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from dmart_attach.errors import DmartError
from dmart_attach.services.uploads import Incoming, UploadForm

FILE_FIELD = "payload_file"
TEXT_FIELDS = ("space_name", "request_record", "sha")
# Everything but the file is small: a record, a space name, a checksum.
MAX_FIELDS_SIZE = 1_048_576
MAX_PARTS = 16
# File bytes are written as they arrive, and hashed in batches of this size off the event loop:
# one batch is hashed while the next one arrives.
FLUSH_SIZE = 1_048_576

OpenFile = Callable[..., Incoming]


def _bad_form(message: str) -> DmartError:
    return DmartError(400, "request", 402, message)


def _disposition(raw: str) -> tuple[str | None, str | None]:
    """The field name and file name of a part (RFC 2231 `filename*` decoded); None when absent."""
    message = EmailMessage()
    try:
        message["content-disposition"] = raw
        name = message.get_param("name", header="content-disposition")
        file_name = message.get_filename()
        empty = message.get_param("filename", header="content-disposition") == ""
    except (ValueError, IndexError):
        raise _bad_form("A part's Content-Disposition header is malformed") from None
    if file_name is None and empty:
        file_name = ""
    return (str(name) if name is not None else None), file_name


class _FormReader:
    """Feeds the stream to python-multipart and acts on its events in order.

    File data is written as it arrives, as short page-cache writes (like any streaming endpoint's),
    and copied into a batch buffer: one batch is hashed in a thread, the slow part, while the next one
    fills. While the file part streams with nothing else pending, its data is taken straight from the
    parser's callback, with no event and no await.
    """

    def __init__(self, open_file: OpenFile) -> None:
        self.open_file = open_file
        self.form = UploadForm()
        self.events: list[tuple[str, Any]] = []
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.headers: dict[str, str] = {}
        self.current: str | None = None
        self.text = bytearray()
        self.buffer = bytearray()
        self.filled = 0
        # File data past a full buffer, until the buffer is handed over.
        self.overflow: list[memoryview] = []
        self.streaming = False
        self.fields_size = 0
        self.parts = 0
        self.finished = False
        self.pending: asyncio.Future[None] | None = None

    def callbacks(self) -> dict[str, Any]:
        """The parser's callbacks: they record events, acted on in order by `process`, or take file data."""

        def on_header_field(data: bytes, start: int, end: int) -> None:
            self.header_field += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            self.header_value += data[start:end]

        def on_header_end() -> None:
            self.headers[self.header_field.decode("latin-1").lower()] = self.header_value.decode("utf-8", "replace")
            self.header_field.clear()
            self.header_value.clear()

        def on_headers_finished() -> None:
            self.events.append(("part", dict(self.headers)))
            self.headers.clear()

        def on_part_data(data: bytes, start: int, end: int) -> None:
            # A view, not a copy: the parser hands over immutable bytes.
            if self.streaming:
                self.take(memoryview(data)[start:end])
            else:
                self.events.append(("data", memoryview(data)[start:end]))

        def on_part_end() -> None:
            self.streaming = False
            self.events.append(("end", None))

        def on_end() -> None:
            self.finished = True

        return {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        }

    @property
    def full(self) -> bool:
        """Whether the batch buffer waits to be handed over."""
        return self.filled == FLUSH_SIZE

    def take(self, data: memoryview) -> None:
        """Write file data at once, as it arrives (refused as soon as it passes the limit); batch it for hashing."""
        if self.form.file is not None:
            self.form.file.append(data)
        self._copy(data)

    def _copy(self, data: memoryview) -> None:
        """Copy file data into the batch buffer; what does not fit waits for the next buffer."""
        if not self.buffer:
            self.buffer = bytearray(FLUSH_SIZE)
        room = FLUSH_SIZE - self.filled
        if room == 0:
            self.overflow.append(data)
            return
        taken = min(room, len(data))
        self.buffer[self.filled : self.filled + taken] = data[:taken]
        self.filled += taken
        if taken < len(data):
            self.overflow.append(data[taken:])

    async def flush(self, *, final: bool = False) -> None:
        """Hand the buffer to a thread, once the one before it is hashed, and start a new one.

        A full buffer is handed over while the file streams; at its end (`final`), whatever is left.
        """
        while self.filled and self.form.file is not None:
            buffer, filled = self.buffer, self.filled
            await self.drain()
            self.pending = asyncio.ensure_future(to_thread.run_sync(_hash_batch, self.form.file, buffer, filled))
            self.buffer, self.filled = bytearray(), 0
            waiting, self.overflow = self.overflow, []
            for data in waiting:
                self._copy(data)
            if not self.full and not final:
                return

    async def drain(self) -> None:
        """Wait for the batch being hashed; its failure is raised here."""
        pending, self.pending = self.pending, None
        if pending is not None:
            await pending

    async def settle(self) -> None:
        """Wait for any batch still being hashed, whatever it ends with, so the file can be discarded."""
        # The failure that brought us here is the one to report, not this batch's.
        with contextlib.suppress(BaseException):
            await self.drain()

    async def _start_part(self, headers: dict[str, str]) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise _bad_form(f"An upload form has at most {MAX_PARTS} parts")
        name, file_name = _disposition(headers.get("content-disposition", ""))
        self.current = name
        self.text.clear()
        if name == FILE_FIELD:
            if self.form.file is not None:
                raise _bad_form("Only one payload_file may be sent")
            self.form.file_name = file_name
            self.form.file = await to_thread.run_sync(
                lambda: self.open_file(
                    space_name=self.form.space_name, raw_record=self.form.request_record, file_name=file_name
                )
            )

    async def _data(self, chunk: memoryview) -> None:
        if self.current == FILE_FIELD:
            self.take(chunk)
            if self.full:
                await self.flush()
            return
        self.fields_size += len(chunk)
        if self.fields_size > MAX_FIELDS_SIZE:
            raise DmartError(413, "request", 413, "The form fields besides the file are too large")
        if self.current in TEXT_FIELDS:
            self.text += chunk

    async def _end_part(self) -> None:
        if self.current == FILE_FIELD:
            await self.flush(final=True)
            await self.drain()
        elif self.current == "request_record":
            self.form.request_record = bytes(self.text)
        elif self.current in ("space_name", "sha"):
            setattr(self.form, self.current, self.text.decode("utf-8", "replace").strip())
        self.current = None

    async def process(self) -> None:
        """Act on the events of the bytes fed so far; file data then streams straight into the buffer."""
        events, self.events = self.events, []
        for kind, value in events:
            if kind == "part":
                await self._start_part(value)
            elif kind == "data":
                await self._data(value)
            else:
                await self._end_part()
        # Still in the file part with nothing pending: its next data needs no event.
        self.streaming = self.current == FILE_FIELD and not self.events


def _hash_batch(file: Incoming, buffer: bytearray, filled: int) -> None:
    """Hash the first `filled` bytes of a batch buffer, in a worker thread."""
    with memoryview(buffer) as view, view[:filled] as batch:
        file.digest(batch)


async def _discard(reader: _FormReader) -> None:
    """Remove the staged file once no batch of it is being hashed."""
    await reader.settle()
    if reader.form.file is not None:
        reader.form.file.discard()


async def read_upload_form(request: Request, open_file: OpenFile) -> UploadForm:
    """Parse the multipart body as it arrives; the payload file is never held whole in memory."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise _bad_form("The body must be multipart/form-data with a boundary")
    reader = _FormReader(open_file)
    parser = MultipartParser(boundary, reader.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if reader.events:
                await reader.process()
            elif reader.full:
                await reader.flush()
        parser.finalize()
        await reader.process()
        if not reader.finished:
            # A body cut short must never be stored as if it were the whole file.
            raise _bad_form("The multipart body ends before its closing boundary")
    except ClientDisconnect:
        await _discard(reader)
        raise _bad_form("The client went away before the body was complete") from None
    except MultipartParseError as error:
        await _discard(reader)
        raise _bad_form(f"The multipart body is malformed: {error}") from None
    except BaseException:
        await _discard(reader)
        raise
    return reader.form
