"""QA synthesis: compositions -> prompts -> LLM -> filtered, de-duplicated, decontaminated pairs."""
