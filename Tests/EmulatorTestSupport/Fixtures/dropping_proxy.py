"""A TCP proxy in front of PostgreSQL that loses connections at the worst moment.

Usage: dropping_proxy.py TARGET_HOST TARGET_PORT STATEMENT MARKERS REPORT_PATH

It forwards every connection to the target. MARKERS is a comma-separated list; the first time a
client sends a statement holding STATEMENT (say "INSERT INTO entry") whose bytes also contain one
of them, the proxy forwards it, reads the server's answer up to its ReadyForQuery (the statement
has committed by then), and closes both sides without passing the answer on: the client sees its
connection lost after the server committed. It then appends "dropped after commit" to
REPORT_PATH. Each marker is dropped once, so a run again of the same statement goes through. It
prints its port on stdout.
"""
import asyncio
import struct
import sys

target_host, target_port = sys.argv[1], int(sys.argv[2])
statement, report = sys.argv[3].encode(), sys.argv[5]
markers = [marker.encode() for marker in sys.argv[4].split(",")]


async def pipe_client(reader, server_writer, connection):
    while data := await reader.read(65536):
        # What the client sent since the server last answered: one statement's messages.
        pending = connection["pending"] = (connection["pending"] + data)[-65536:]
        if statement in pending:
            for marker in markers:
                if marker in pending:
                    markers.remove(marker)
                    connection["drop"] = True
                    break
        server_writer.write(data)
        await server_writer.drain()
    server_writer.close()


async def pipe_server(server_reader, writer, connection):
    frames = b""
    while data := await server_reader.read(65536):
        if not connection.get("drop"):
            connection["pending"] = b""
            writer.write(data)
            await writer.drain()
            continue
        # Past the arming, messages start at a boundary: type byte, then a length that counts
        # itself. ReadyForQuery ('Z') comes after the implicit transaction has committed.
        frames += data
        while len(frames) >= 5:
            kind = frames[0:1]
            (length,) = struct.unpack("!I", frames[1:5])
            if len(frames) < 1 + length:
                break
            frames = frames[1 + length:]
            if kind == b"Z":
                with open(report, "a") as out:
                    out.write("dropped after commit\n")
                writer.transport.abort()
                connection["server_writer"].transport.abort()
                return
    writer.close()


async def serve(reader, writer):
    try:
        server_reader, server_writer = await asyncio.open_connection(target_host, target_port)
    except OSError:
        writer.close()
        return
    connection = {"server_writer": server_writer, "pending": b""}
    await asyncio.gather(
        pipe_client(reader, server_writer, connection),
        pipe_server(server_reader, writer, connection),
        return_exceptions=True)


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
