/**
 * Training data: reading JSONL/JSON datasets with OpenRLHF's keys, turning records into token ids
 * and shifted loss masks (SFT, multi-turn chat, continued pretraining, preference pairs, KTO,
 * prompts), mixing several datasets, a held-out eval split, resumable shuffled batches and
 * right-padded collation into flat arrays. Nothing here touches tensors or libtorch; the trainer
 * turns a {@link org.rlhfnode.runtime.data.Batch} into tensors. Token layout and masks follow
 * algorithms.md §1, §3–§6 and §11.
 */
package org.rlhfnode.runtime.data;
