package org.rlhfnode.runtime.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Lays text pieces out as token ids with a target flag per token (algorithms.md §1.4, §1.7). Each
 * piece is encoded on its own, without special tokens, and the ids are concatenated, so a target
 * span starts exactly where its text starts and the prompt part has the ids the prompt alone has at
 * generation time.
 */
final class TokenLayout {

  /** A piece of text; {@code target} marks its tokens as ones the loss learns to predict. */
  record Segment(String text, boolean target) {}

  /** Token ids and, per token, whether it is a target. */
  record Laid(long[] ids, boolean[] target) {
    int length() {
      return ids.length;
    }

    /** Index of the first target token, or {@code length()} when there is none. */
    int firstTarget() {
      for (int i = 0; i < target.length; i++) {
        if (target[i]) {
          return i;
        }
      }
      return target.length;
    }

    /** The example in the shifted frame: mask entry t is the flag of token t + 1 (§1.2). */
    SftExample toExample() {
      return new SftExample(ids, Arrays.copyOfRange(target, 1, target.length));
    }
  }

  private TokenLayout() {}

  /** Encodes each non-empty segment and concatenates the ids. */
  static Laid encode(List<Segment> segments, TokenizerView tokenizer) {
    List<long[]> parts = new ArrayList<>();
    List<Boolean> flags = new ArrayList<>();
    int total = 0;
    for (Segment s : segments) {
      if (!s.text().isEmpty()) {
        long[] ids = tokenizer.encode(s.text(), false);
        parts.add(ids);
        flags.add(s.target());
        total += ids.length;
      }
    }
    long[] ids = new long[total];
    boolean[] target = new boolean[total];
    int at = 0;
    for (int i = 0; i < parts.size(); i++) {
      long[] p = parts.get(i);
      System.arraycopy(p, 0, ids, at, p.length);
      Arrays.fill(target, at, at + p.length, flags.get(i));
      at += p.length;
    }
    return new Laid(ids, target);
  }

  /** The segments with trailing newlines of their concatenation removed, as Python's rstrip("\n"). */
  static List<Segment> stripTrailingNewlines(List<Segment> segments) {
    List<Segment> out = new ArrayList<>(segments);
    while (!out.isEmpty()) {
      Segment last = out.get(out.size() - 1);
      int end = last.text().length();
      while (end > 0 && last.text().charAt(end - 1) == '\n') {
        end--;
      }
      if (end > 0) {
        out.set(out.size() - 1, new Segment(last.text().substring(0, end), last.target()));
        break;
      }
      out.remove(out.size() - 1);
    }
    return out;
  }

  /** Appends {@code eos} unless the ids already end with it; the new token takes the last token's flag. */
  static Laid appendEos(Laid laid, long eos) {
    int n = laid.length();
    if (n > 0 && laid.ids()[n - 1] == eos) {
      return laid;
    }
    long[] ids = Arrays.copyOf(laid.ids(), n + 1);
    boolean[] target = Arrays.copyOf(laid.target(), n + 1);
    ids[n] = eos;
    target[n] = n == 0 || laid.target()[n - 1];
    return new Laid(ids, target);
  }

  /**
   * Keeps the first {@code maxLen} tokens; when {@code forceEos}, the last kept token is overwritten
   * with {@code eos} (keeping that position's flag) so the scoring position always exists (§1.7).
   */
  static Laid truncate(Laid laid, int maxLen, boolean forceEos, long eos) {
    if (laid.length() <= maxLen) {
      return laid;
    }
    long[] ids = Arrays.copyOf(laid.ids(), maxLen);
    boolean[] target = Arrays.copyOf(laid.target(), maxLen);
    if (forceEos) {
      ids[maxLen - 1] = eos;
    }
    return new Laid(ids, target);
  }

  /** The supervised layout: strip trailing newlines, encode, append EOS if missing, cut to max_len. */
  static Laid supervised(List<Segment> segments, TokenizerView tokenizer, int maxLen, long eos) {
    Laid laid = appendEos(encode(stripTrailingNewlines(segments), tokenizer), eos);
    return truncate(laid, maxLen, true, eos);
  }

  /** Concatenates prompt and response ids (response tokens are targets) and cuts to max_len with EOS. */
  static Laid join(long[] prompt, long[] response, int maxLen, long eos) {
    long[] ids = new long[prompt.length + response.length];
    System.arraycopy(prompt, 0, ids, 0, prompt.length);
    System.arraycopy(response, 0, ids, prompt.length, response.length);
    boolean[] target = new boolean[ids.length];
    Arrays.fill(target, prompt.length, ids.length, true);
    return truncate(new Laid(ids, target), maxLen, true, eos);
  }
}
