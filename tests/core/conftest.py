"""The core's tests. This folder holds `coretest`, the helpers every core test
imports (tests/core/phases/ and tests/core/overlays/ too): pytest puts the
folder of a conftest on the import path."""
