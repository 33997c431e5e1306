"""The server's transport joins a response's header and body writes into one send."""

import asyncio
import socket

from marvel_mlops.serving.server import CoalescingTransport


async def _connected_pair():
    ours, peer = socket.socketpair()
    peer.setblocking(False)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
    return CoalescingTransport(transport, loop), peer


def _received(peer: socket.socket) -> bytes:
    try:
        return peer.recv(65536)
    except BlockingIOError:
        return b""


def test_writes_of_one_loop_turn_leave_together_after_it():
    async def scenario():
        transport, peer = await _connected_pair()
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b'{"ok": true}')
        assert _received(peer) == b""  # nothing sent within the turn
        await asyncio.sleep(0.05)
        assert _received(peer) == b'HTTP/1.1 200 OK\r\n\r\n{"ok": true}'
        transport.write(b"next")
        transport.close()  # a close sends what is pending first
        await asyncio.sleep(0.05)
        assert _received(peer) == b"next"
        peer.close()

    asyncio.run(scenario())


def test_abort_drops_what_is_pending():
    async def scenario():
        transport, peer = await _connected_pair()
        transport.write(b"never")
        transport.abort()
        await asyncio.sleep(0.05)
        assert _received(peer) == b""
        peer.close()

    asyncio.run(scenario())
