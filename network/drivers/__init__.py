"""Netmiko drivers for the platforms municloud manages that Netmiko does not know well.

The platform modules register their driver in `device.DRIVERS` when imported; importing them here
makes every import of this package (and so of `network.drivers.device`) see all platforms."""

from network.drivers import nec_ix, yamaha_rtx  # noqa: F401  (register "nec_ix", "yamaha_rtx" in DRIVERS)
from network.drivers.frr import FrrVtyshSSH, register

__all__ = ["FrrVtyshSSH", "register"]
