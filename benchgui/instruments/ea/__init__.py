"""EA Elektro-Automatik EL 3000 A electronic load (and PS 2000 B supplies): binary telegrams.

protocol.py (framing, sans-IO) → values.py (object value codec) → objects.py (device profiles
from TOML) → driver.py (asyncio transactions) → source.py (the bench's ``load`` source);
sim.py is the wire-level simulator, factory.py wires them for the assembly.
"""
