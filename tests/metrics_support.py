"""Scraping `/metrics` as Prometheus would, and reading the samples back."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RunningServer

METRICS_KEY = "test-metrics-key-0123456789"


async def scrape(server: RunningServer, key: str | None = METRICS_KEY) -> dict[str, float]:
    """Every sample, named with its labels as in the text format: `name{a="b"}`."""
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    async with server.session.get(f"{server.base_url}/metrics", headers=headers) as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "text/plain"
        text = await response.text()
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


async def families(server: RunningServer, key: str = METRICS_KEY) -> set[str]:
    """Every metric family the node exports, samples or none (its `# TYPE` lines)."""
    headers = {"Authorization": f"Bearer {key}"}
    async with server.session.get(f"{server.base_url}/metrics", headers=headers) as response:
        text = await response.text()
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
