/**
 * Tokenizers and chat templates for HuggingFace models: {@link
 * org.rlhfnode.runtime.tokenizer.HfTokenizer} loads a model directory offline through DJL, and
 * {@link org.rlhfnode.runtime.tokenizer.ChatTemplate} renders conversations with the model's
 * Jinja chat template exactly as {@code transformers}' {@code apply_chat_template} does.
 */
package org.rlhfnode.runtime.tokenizer;
