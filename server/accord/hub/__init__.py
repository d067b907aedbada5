"""The hub: carries the core's decisions to live Socket.IO connections."""
