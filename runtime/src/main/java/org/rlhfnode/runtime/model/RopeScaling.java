package org.rlhfnode.runtime.model;

/**
 * RoPE frequency scaling from {@code config.json → rope_scaling}. {@code LINEAR} divides every
 * inverse frequency by {@code factor}; {@code LLAMA3} is the Llama-3.1 banded rule (keep high
 * frequencies, divide low ones by {@code factor}, interpolate in between).
 */
public record RopeScaling(
    Type type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {

  /** The implemented {@code rope_type} values. */
  public enum Type {
    LINEAR("linear"),
    LLAMA3("llama3");

    private final String jsonName;

    Type(String jsonName) {
      this.jsonName = jsonName;
    }

    public String jsonName() {
      return jsonName;
    }

    static Type parse(String s) {
      for (Type t : values()) {
        if (t.jsonName.equals(s)) {
          return t;
        }
      }
      throw new ConfigException(
          "rope_scaling.rope_type",
          "unsupported rope_scaling type '" + s + "' (supported: linear, llama3)");
    }
  }

  public RopeScaling {
    if (!(factor > 0)) {
      throw new ConfigException("rope_scaling.factor", "rope_scaling.factor must be > 0, got " + factor);
    }
    if (type == Type.LLAMA3) {
      if (!(highFreqFactor > lowFreqFactor)) {
        throw new ConfigException(
            "rope_scaling.high_freq_factor",
            "rope_scaling.high_freq_factor must exceed low_freq_factor");
      }
      if (originalMaxPositions <= 0) {
        throw new ConfigException(
            "rope_scaling.original_max_position_embeddings",
            "rope_scaling.original_max_position_embeddings must be > 0");
      }
    }
  }

  /** Linear scaling by {@code factor}. */
  public static RopeScaling linear(double factor) {
    return new RopeScaling(Type.LINEAR, factor, 0, 0, 0);
  }

  /**
   * Applies the scaling to HF's inverse frequencies {@code theta^(-2i/d)}.
   *
   * @param invFreq one entry per rotated pair (d/2 entries), modified in place
   */
  public void apply(double[] invFreq) {
    if (type == Type.LINEAR) {
      for (int i = 0; i < invFreq.length; i++) {
        invFreq[i] /= factor;
      }
      return;
    }
    double lowWavelen = originalMaxPositions / lowFreqFactor;
    double highWavelen = originalMaxPositions / highFreqFactor;
    for (int i = 0; i < invFreq.length; i++) {
      double wavelen = 2 * Math.PI / invFreq[i];
      if (wavelen < highWavelen) {
        continue;
      }
      if (wavelen > lowWavelen) {
        invFreq[i] /= factor;
      } else {
        double s = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        invFreq[i] = (1 - s) * invFreq[i] / factor + s * invFreq[i];
      }
    }
  }
}
