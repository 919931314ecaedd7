"""Stand-ins: small local HTTP servers that receive a real SDK's requests and check them.

Used only where no emulator exists; each says which service it stands in for.
"""
