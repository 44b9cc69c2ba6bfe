pytest_plugins = ["clinic_shared.testing.plugin"]
