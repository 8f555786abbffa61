#!/usr/bin/env python3
"""A TCP relay on loopback that counts the bytes each connection moves.

tcp_count.py LISTEN_PORT TARGET_PORT LOG

Forwards every connection on 127.0.0.1:LISTEN_PORT to 127.0.0.1:TARGET_PORT and,
when it closes, appends `<bytes to the target> <bytes from the target>` to LOG.
The benchmarks put it in front of `pg serve` and `git daemon` alike, so both are
measured on the wire the same way, transport included.
"""
import asyncio
import sys


async def pump(reader, writer, counted):
    try:
        while data := await reader.read(65536):
            counted[0] += len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        # Half-close, as the peer did: the other direction may still be talking.
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass


async def relay(client_reader, client_writer, target_port, log):
    server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
    up, down = [0], [0]
    await asyncio.gather(pump(client_reader, server_writer, up), pump(server_reader, client_writer, down))
    for writer in (client_writer, server_writer):
        writer.close()
    with open(log, "a") as out:
        out.write(f"{up[0]} {down[0]}\n")


async def main():
    listen_port, target_port, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    server = await asyncio.start_server(
        lambda r, w: relay(r, w, target_port, log), "127.0.0.1", listen_port
    )
    async with server:
        await server.serve_forever()


asyncio.run(main())
