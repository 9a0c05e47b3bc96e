package org.rlhfnode.runtime.algo;

import java.util.Arrays;
import org.bytedeco.pytorch.Tensor;

/** Argument checks shared by the loss classes; messages name the offending input. */
final class Checks {
  private Checks() {}

  static long[] shape(Tensor t) {
    return t.sizes().vec().get();
  }

  /** Throws unless every tensor is 1-d with the same length; returns that length. */
  static long sameVectors(String names, Tensor... vectors) {
    long n = -1;
    for (Tensor v : vectors) {
      if (v.dim() != 1 || (n >= 0 && v.size(0) != n)) {
        StringBuilder shapes = new StringBuilder();
        for (Tensor w : vectors) {
          shapes.append(' ').append(Arrays.toString(shape(w)));
        }
        throw new IllegalArgumentException(names + " must all be [N] with one N, got" + shapes);
      }
      n = v.size(0);
    }
    return n;
  }

  static void sameShape(String what, Tensor a, Tensor b) {
    if (!Arrays.equals(shape(a), shape(b))) {
      throw new IllegalArgumentException(what + ": shapes " + Arrays.toString(shape(a)) + " and "
          + Arrays.toString(shape(b)) + " differ");
    }
  }
}
