"""Netmiko drivers for the platforms municloud manages that Netmiko does not know well."""

from network.drivers.frr import FrrVtyshSSH, register

__all__ = ["FrrVtyshSSH", "register"]
