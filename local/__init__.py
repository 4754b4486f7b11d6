"""The embedded local stack behind ``make run`` (never deployed): moto, a local API gateway,
Lambda-style pollers and clocks, and a sandbox carrier, all built from template.yaml."""
