"""benchgui — runs a battery test bench: MPPT 1210 HUS, EA EL 3160-60 load and LabJack T7 reference."""

__version__ = "0.1.0"
