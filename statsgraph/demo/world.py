"""The demo's world: its people, providers and models (with list prices), the rhythm of its
traffic, and how requests fail. Plain data; `demo.py` turns it into rows."""

from __future__ import annotations

from dataclasses import dataclass

NAMES = (
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    "kevin", "laura", "mallory", "nina", "oscar", "peggy", "quentin", "rupert", "sybil",
    "trent", "ursula", "victor", "wendy", "xavier", "yvonne", "zoe",
)
KEY_NAMES = ("default", "laptop", "ci", "production", "staging", "notebook", "batch-jobs")


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    name: str
    display_name: str
    billing_type: str
    active: bool
    error_factor: float


PROVIDERS = (
    ProviderSpec("openai", "OpenAI", "pay_as_you_go", True, 0.8),
    ProviderSpec("anthropic", "Anthropic", "pay_as_you_go", True, 1.0),
    ProviderSpec("google", "Google Gemini", "free_tier", True, 1.1),
    ProviderSpec("deepseek", "DeepSeek", "pay_as_you_go", True, 1.8),
    ProviderSpec("azure-openai", "Azure OpenAI", "monthly_quota", True, 0.6),
    # Retired part-way through the window: it has history but no recent traffic.
    ProviderSpec("legacy-proxy", "Legacy Proxy", "monthly_quota", False, 2.0),
)
RETIRED = "legacy-proxy"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    # USD per million tokens: input, output, cache write, cache read (0 = not offered).
    prices: tuple[float, float, float, float]
    popularity: float
    providers: tuple[tuple[str, float], ...]
    prompt_median: int
    output_median: int
    latency_ms: int
    streams: bool = True


MODELS = (
    ModelSpec("claude-sonnet-4", (3.0, 15.0, 3.75, 0.30), 30, (("anthropic", 0.85), ("legacy-proxy", 0.15)),
              3_500, 650, 6_000),
    ModelSpec("claude-opus-4", (15.0, 75.0, 18.75, 1.50), 3, (("anthropic", 1.0),), 5_000, 900, 12_000),
    ModelSpec("claude-3-5-haiku", (0.80, 4.0, 1.0, 0.08), 12, (("anthropic", 0.8), ("legacy-proxy", 0.2)),
              1_800, 350, 2_500),
    ModelSpec("gpt-4o", (2.50, 10.0, 0.0, 1.25), 16, (("openai", 0.6), ("azure-openai", 0.4)), 2_200, 500, 4_000),
    ModelSpec("gpt-4o-mini", (0.15, 0.60, 0.0, 0.075), 18,
              (("openai", 0.5), ("azure-openai", 0.3), ("legacy-proxy", 0.2)), 1_200, 300, 1_800),
    ModelSpec("gemini-2.5-pro", (1.25, 10.0, 0.0, 0.31), 8, (("google", 1.0),), 4_000, 800, 7_000),
    ModelSpec("gemini-2.5-flash", (0.30, 2.50, 0.0, 0.075), 7, (("google", 1.0),), 2_000, 400, 2_000),
    ModelSpec("deepseek-chat", (0.27, 1.10, 0.0, 0.07), 9, (("deepseek", 1.0),), 2_000, 500, 5_000),
    ModelSpec("deepseek-reasoner", (0.55, 2.19, 0.0, 0.14), 3, (("deepseek", 1.0),), 1_500, 2_500, 20_000),
    ModelSpec("text-embedding-3-small", (0.02, 0.0, 0.0, 0.0), 4, (("openai", 1.0),), 600, 0, 300, streams=False),
)

# Relative traffic by local hour: office hours, a lunch dip, quiet nights.
HOUR_WEIGHTS = (
    0.10, 0.06, 0.04, 0.03, 0.03, 0.05, 0.10, 0.25, 0.55, 0.90, 1.00, 1.00,
    0.70, 0.80, 1.00, 1.00, 0.95, 0.85, 0.60, 0.45, 0.40, 0.35, 0.25, 0.15,
)
WEEKEND_FACTOR = 0.3
GROWTH = 0.5  # the last hour of the window is this much busier than the first, all else equal

FAILURE_RATE = 0.03
STREAM_CUT_RATE = 0.008  # of streamed requests: about 0.5 % of all
FALLBACK_RATE = 0.04
PROVIDER_ID_MISSING_RATE = 0.05
NO_LATENCY_RATE = 0.02
FAILURES = (  # status code, weight, messages
    (429, 40, ("Rate limit exceeded, please retry later", "429 Too Many Requests: tokens per minute limit reached")),
    (500, 15, ("Internal server error", "upstream returned 500: internal error")),
    (502, 25, ("Bad gateway: upstream connection reset", "502 Bad Gateway")),
    (503, 20, ("Service unavailable: model overloaded", "upstream timed out after 60s")),
)
STREAM_CUT_MESSAGES = (
    "stream interrupted: upstream closed the connection",
    "stream interrupted: client disconnected",
    "stream ended without a final chunk",
)


__all__ = [
    "FAILURES",
    "FAILURE_RATE",
    "FALLBACK_RATE",
    "GROWTH",
    "HOUR_WEIGHTS",
    "KEY_NAMES",
    "MODELS",
    "ModelSpec",
    "NAMES",
    "NO_LATENCY_RATE",
    "PROVIDERS",
    "PROVIDER_ID_MISSING_RATE",
    "ProviderSpec",
    "RETIRED",
    "STREAM_CUT_MESSAGES",
    "STREAM_CUT_RATE",
    "WEEKEND_FACTOR",
]
