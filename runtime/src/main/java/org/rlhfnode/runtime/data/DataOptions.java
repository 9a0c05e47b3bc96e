package org.rlhfnode.runtime.data;

import java.util.Arrays;
import java.util.List;

/**
 * How records are read from a dataset and turned into examples, with OpenRLHF's option names and
 * defaults ({@code --input_key}, {@code --dataset_probs}, {@code --max_len}, ...). Checked on
 * construction; an error names the option as OpenRLHF spells it. Build with {@link #builder()}.
 *
 * @param dataset comma-separated dataset sources, one source each: files, directories or
 *     {@code org/name[@data_dir]} in the HuggingFace hub cache ({@link DatasetSource}); may be null
 *     when examples are built from records directly
 * @param datasetProbs sampling weights, one per source (normalised); null concatenates the sources
 * @param datasetSplit the split read from each training source (OpenRLHF {@code dataset_split} /
 *     {@code prompt_split}), {@code train} by default
 * @param evalDataset comma-separated sources of a separate eval set; exclusive with a fraction {@code evalSplit}
 * @param evalSplit fraction of every source held out for evaluation, in [0, 1); 0 when {@code evalSplitName} is set
 * @param evalSplitName OpenRLHF's {@code eval_split}: the split of {@code evalDataset} to read (default
 *     {@code train}), or, without an eval dataset, the split of the training sources that is the eval
 *     set; null when {@code eval_split} is a fraction or unset
 * @param maxSamples cap per source and on the mixed training set (OpenRLHF {@code max_samples})
 * @param maxLen token budget of one example; longer ones are cut as algorithms.md §1.7 says
 * @param seed seed of the mixing, the eval split and the shuffling
 * @param inputKey key of the prompt text or chat messages
 * @param outputKey key of the response (SFT, KTO); null for multi-turn chat and pretraining
 * @param promptKey key of the shared prompt of a preference pair; null when chosen/rejected hold it
 * @param chosenKey key of the preferred response
 * @param rejectedKey key of the dispreferred response
 * @param labelKey key of the KTO label (desirable or not), or of a prompt's reference answer
 * @param marginKey key of the optional per-pair reward margin (algorithms.md §4)
 * @param applyChatTemplate render text with the tokenizer's chat template
 * @param inputTemplate Python-format template for the prompt, e.g. {@code "User: {}\nAssistant: "};
 *     ignored with {@code applyChatTemplate} and in pretraining mode
 * @param pretrainMode continued pretraining: the text under {@code inputKey}, every token a target
 */
public record DataOptions(String dataset, List<Double> datasetProbs, String datasetSplit, String evalDataset,
    double evalSplit, String evalSplitName, int maxSamples, int maxLen, long seed, String inputKey,
    String outputKey, String promptKey, String chosenKey, String rejectedKey, String labelKey, String marginKey,
    boolean applyChatTemplate, String inputTemplate, boolean pretrainMode) {

  /** OpenRLHF's default {@code input_template} for SFT and KTO (RM and DPO default to none). */
  public static final String SFT_INPUT_TEMPLATE = "User: {}\nAssistant: ";
  public static final int DEFAULT_MAX_LEN = 2048;
  public static final int DEFAULT_MAX_SAMPLES = 1_000_000;
  public static final long DEFAULT_SEED = 42L;

  public DataOptions {
    datasetProbs = datasetProbs == null ? null : List.copyOf(datasetProbs);
    requireKey("input_key", inputKey);
    requireKey("chosen_key", chosenKey);
    requireKey("rejected_key", rejectedKey);
    requireKey("label_key", labelKey);
    requireKey("margin_key", marginKey);
    optionalKey("output_key", outputKey);
    optionalKey("prompt_key", promptKey);
    if (maxLen < 3) {
      throw new IllegalArgumentException("max_len must be at least 3, got " + maxLen);
    }
    if (maxSamples < 1) {
      throw new IllegalArgumentException("max_samples must be at least 1, got " + maxSamples);
    }
    if (!(evalSplit >= 0.0 && evalSplit < 1.0)) {
      throw new IllegalArgumentException("eval_split must be a fraction in [0, 1), got " + evalSplit);
    }
    if (evalSplit > 0.0 && evalDataset != null) {
      throw new IllegalArgumentException("eval_split " + evalSplit + " holds out a fraction of the training data, "
          + "eval_dataset is a separate eval set: give one of them (with eval_dataset, eval_split may name its split)");
    }
    requireSplit("dataset_split", datasetSplit);
    if (evalSplitName != null) {
      requireSplit("eval_split", evalSplitName);
      if (evalSplit > 0.0) {
        throw new IllegalArgumentException("eval_split is a fraction or a split name, not both");
      }
    }
    if (evalDataset != null && splitPaths(evalDataset).isEmpty()) {
      throw new IllegalArgumentException("eval_dataset names no path");
    }
    checkProbs(dataset, datasetProbs);
    if (inputTemplate != null) {
      InputTemplate.check(inputTemplate);
    }
  }

  /** Defaults as OpenRLHF's RM/DPO trainers have them (no input template). */
  public static Builder builder() {
    return new Builder();
  }

  /** Defaults as OpenRLHF's SFT/KTO trainers have them: input template {@value #SFT_INPUT_TEMPLATE}. */
  public static Builder sftBuilder() {
    return new Builder().inputTemplate(SFT_INPUT_TEMPLATE);
  }

  /** The prompt text with {@link #inputTemplate} applied, as Python's {@code template.format(text)}. */
  public String formatInput(String text) {
    return inputTemplate == null ? text : InputTemplate.format(inputTemplate, text);
  }

  /** The dataset sources: {@link #dataset} split at commas, trimmed, empty entries dropped. */
  public List<String> datasetPaths() {
    return dataset == null ? List.of() : splitPaths(dataset);
  }

  /** The eval sources, as {@link #datasetPaths()}. */
  public List<String> evalDatasetPaths() {
    return evalDataset == null ? List.of() : splitPaths(evalDataset);
  }

  /**
   * OpenRLHF's {@code eval_split}, or ours: a number is the fraction held out (ours), anything else the
   * name of a split (OpenRLHF); null or blank is neither.
   */
  public static boolean isFraction(String evalSplit) {
    try {
      Double.parseDouble(evalSplit.trim());
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  /** Parses OpenRLHF's {@code --dataset_probs} form, {@code "0.7,0.3"}; null or blank gives null. */
  public static List<Double> parseProbs(String probs) {
    if (probs == null || probs.isBlank()) {
      return null;
    }
    try {
      return Arrays.stream(probs.split(",")).map(String::trim).map(Double::valueOf).toList();
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("dataset_probs must be comma-separated numbers, got '" + probs + "'", e);
    }
  }

  static List<String> splitPaths(String paths) {
    return Arrays.stream(paths.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }

  private static void checkProbs(String dataset, List<Double> probs) {
    if (probs == null) {
      return;
    }
    for (Double p : probs) {
      if (p == null || !Double.isFinite(p) || p <= 0.0) {
        throw new IllegalArgumentException("dataset_probs must all be finite and > 0, got " + probs);
      }
    }
    int sources = dataset == null ? probs.size() : splitPaths(dataset).size();
    if (sources != probs.size()) {
      throw new IllegalArgumentException("dataset_probs has " + probs.size() + " entries but dataset names "
          + sources + " source(s)");
    }
  }

  private static void requireSplit(String option, String split) {
    if (split == null || !DatasetSource.SPLIT_NAME.matcher(split).matches()) {
      throw new IllegalArgumentException(option + " must be a split name (letters, digits, '_', '.'), got '"
          + split + "'");
    }
  }

  private static void requireKey(String option, String key) {
    if (key == null || key.isBlank()) {
      throw new IllegalArgumentException(option + " must be a non-empty key");
    }
  }

  private static void optionalKey(String option, String key) {
    if (key != null && key.isBlank()) {
      throw new IllegalArgumentException(option + " must be a non-empty key or unset");
    }
  }

  /** Mutable builder holding OpenRLHF's defaults; {@link #build()} validates. */
  public static final class Builder {
    private String dataset;
    private List<Double> datasetProbs;
    private String datasetSplit = "train";
    private String evalDataset;
    private double evalSplit;
    private String evalSplitName;
    private int maxSamples = DEFAULT_MAX_SAMPLES;
    private int maxLen = DEFAULT_MAX_LEN;
    private long seed = DEFAULT_SEED;
    private String inputKey = "input";
    private String outputKey;
    private String promptKey;
    private String chosenKey = "chosen";
    private String rejectedKey = "rejected";
    private String labelKey = "label";
    private String marginKey = "margin";
    private boolean applyChatTemplate;
    private String inputTemplate;
    private boolean pretrainMode;

    private Builder() {}

    public Builder dataset(String v) { dataset = v; return this; }
    public Builder datasetProbs(List<Double> v) { datasetProbs = v; return this; }
    public Builder datasetProbs(String v) { datasetProbs = parseProbs(v); return this; }
    public Builder datasetSplit(String v) { datasetSplit = v; return this; }
    public Builder evalDataset(String v) { evalDataset = v; return this; }
    public Builder evalSplit(double v) { evalSplit = v; evalSplitName = null; return this; }

    /** {@code eval_split} as a flag gives it: a fraction ("0.1"), a split name ("test"), or null/blank for none. */
    public Builder evalSplit(String v) {
      if (v == null || v.isBlank()) {
        return evalSplit(0.0);
      }
      if (isFraction(v)) {
        return evalSplit(Double.parseDouble(v.trim()));
      }
      evalSplit = 0.0;
      evalSplitName = v.trim();
      return this;
    }

    public Builder maxSamples(int v) { maxSamples = v; return this; }
    public Builder maxLen(int v) { maxLen = v; return this; }
    public Builder seed(long v) { seed = v; return this; }
    public Builder inputKey(String v) { inputKey = v; return this; }
    public Builder outputKey(String v) { outputKey = v; return this; }
    public Builder promptKey(String v) { promptKey = v; return this; }
    public Builder chosenKey(String v) { chosenKey = v; return this; }
    public Builder rejectedKey(String v) { rejectedKey = v; return this; }
    public Builder labelKey(String v) { labelKey = v; return this; }
    public Builder marginKey(String v) { marginKey = v; return this; }
    public Builder applyChatTemplate(boolean v) { applyChatTemplate = v; return this; }
    public Builder inputTemplate(String v) { inputTemplate = v; return this; }
    public Builder pretrainMode(boolean v) { pretrainMode = v; return this; }

    public DataOptions build() {
      return new DataOptions(dataset, datasetProbs, datasetSplit, evalDataset, evalSplit, evalSplitName, maxSamples,
          maxLen, seed, inputKey, outputKey, promptKey, chosenKey, rejectedKey, labelKey, marginKey, applyChatTemplate,
          inputTemplate, pretrainMode);
    }
  }
}
