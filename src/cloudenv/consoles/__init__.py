"""Consoles in the browser: WebSocket bridges from noVNC (VNC) and xterm.js (serial) to a
guest on this node. Tickets are issued and checked by ``services.compute.consoles``; this
package only admits a redeemed ticket and moves bytes. It sits beside ``api`` and
``agent``: it may use services and the drivers, and nothing imports it but the
composition root (``cloudenv.daemon``)."""
