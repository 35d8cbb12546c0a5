"""Subcommands of the `viarl` CLI, one module each; every module defines `register(subparsers)`."""
