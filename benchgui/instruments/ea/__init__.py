"""EA Elektro-Automatik EL 3000 A electronic load (and PS 2000 B supplies): binary telegrams.

protocol.py (framing, sans-IO) → values.py (object value codec) → objects.py + loader.py
(device profiles, data in profiles/*.toml) → transactions.py (locking, pipelining, retries) →
driver.py (objects in SI units) → source.py (the bench's ``load`` source); state.py is what the
load panel observes; simdevice.py + sim.py are the wire-level simulator; factory.py wires them
for the assembly.
"""
