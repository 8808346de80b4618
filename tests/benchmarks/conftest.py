"""The integration tests' fixtures, for the benchmarks: Home Assistant against the sandbox."""

from tests.integration.conftest import (  # noqa: F401
    auto_enable_custom_integrations,
    entry_data,
    sandbox,
    sandbox_url,
)
