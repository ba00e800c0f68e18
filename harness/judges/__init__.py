"""Judge models: the judge's configuration (config), an async OpenAI-compatible client with counted
retries (client), and a local judge served by vLLM on 127.0.0.1 (local, serve_vllm). MT-Bench's
protocol on top of them is harness.mt_bench."""
