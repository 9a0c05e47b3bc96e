/**
 * Training data: reading JSONL, JSON, Parquet and CSV datasets (files, directories, or datasets in
 * the local HuggingFace hub cache, one split at a time) with OpenRLHF's keys, turning records into
 * token ids and shifted loss masks (SFT, multi-turn chat, continued pretraining, preference pairs,
 * KTO, prompts), mixing several datasets, a held-out eval split, resumable shuffled batches and
 * right-padded collation into flat arrays. Nothing here touches tensors or libtorch; the trainer
 * turns a {@link org.rlhfnode.runtime.data.Batch} into tensors. Token layout and masks follow
 * algorithms.md §1, §3–§6 and §11.
 *
 * <p>Where this differs from OpenRLHF on purpose: prompt and response are encoded separately and
 * concatenated (OpenRLHF encodes the joined text and counts prompt tokens apart, which misplaces the
 * mask by a token when a BPE merge crosses the boundary); a missing EOS is appended as the EOS id,
 * not as the text {@code " " + eos_token}, which adds a stray space token; the short-prompt filter
 * (prompt ≥ max_len − 2 tokens) applies to reward-model pairs too, and dropped records are listed;
 * {@code eval_split} may also be a held-out fraction disjoint from training (a number), besides
 * OpenRLHF's split name.
 * Like OpenRLHF, nothing is encoded with special tokens: BOS appears only if the template writes it.
 */
package org.rlhfnode.runtime.data;
