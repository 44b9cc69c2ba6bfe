"""Browser tests through the gateway; a package so that the platform fixture ends with them."""
