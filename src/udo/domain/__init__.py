"""Pure domain models: specs, manifests, rules, runs. No I/O, no SDKs."""
