package org.rlhfnode.messages;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;

/** One populated instance of every message type, with reply addresses from fresh test probes. */
final class Samples {
  private Samples() {}

  static final RequestId GEN = new RequestId(1, 7, RequestId.Kind.GENERATE, 2);
  static final RequestId SCORE = RequestId.of(1, 7, RequestId.Kind.SCORE);
  static final RequestId BATCH = RequestId.of(1, 7, RequestId.Kind.BATCH);
  static final RequestId TRAIN = RequestId.of(1, 7, RequestId.Kind.TRAIN);
  static final RequestId CKPT = RequestId.of(1, 7, RequestId.Kind.CHECKPOINT);
  static final RequestId RESTORE = RequestId.of(2, 8, RequestId.Kind.RESTORE);
  static final String DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  static final String SECRET = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

  /** [4, 6] sequences, masks, and log-probs with a NaN and an infinity; B = 2 prompts x 2 samples. */
  static TensorMap rolloutTensors() {
    long[] seq = {4, 6};
    long[] act = {4, 5};
    long[] tokens = new long[24];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = 151_000L + i;
    }
    byte[] mask = new byte[24];
    java.util.Arrays.fill(mask, (byte) 1);
    byte[] actionMask = new byte[20];
    java.util.Arrays.fill(actionMask, 10, 20, (byte) 1);
    float[] logProbs = new float[20];
    logProbs[3] = Float.NaN;
    logProbs[7] = Float.NEGATIVE_INFINITY;
    logProbs[11] = -0.25f;
    return new TensorMap(Map.of(
        TensorNames.SEQUENCES, WireTensor.ofLongs(seq, tokens),
        TensorNames.ATTENTION_MASK, WireTensor.ofBytes("BOOL", seq, mask),
        TensorNames.ACTION_MASK, WireTensor.ofBytes("BOOL", act, actionMask),
        TensorNames.TRUNCATED, WireTensor.ofBytes("BOOL", new long[] {4}, new byte[] {0, 1, 0, 0}),
        TensorNames.ROLLOUT_LOG_PROBS, WireTensor.ofFloats(act, logProbs)));
  }

  /** Bytes 0, 1, 2, ... (mod 251, so no period of a power of two hides an offset error). */
  static ByteBuffer pattern(int n) {
    ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      b.put((byte) (i % 251));
    }
    return b.flip();
  }

  /** A sample of every concrete message type of the protocol. */
  static List<WireMessage> all(ActorTestKit kit) {
    SamplingParams sampling = new SamplingParams(0.9, 0.95, 0, 64, 2, 42L);
    TensorMap rollout = rolloutTensors();
    TensorMap scores = TensorMap.of(TensorNames.SCORES, WireTensor.ofFloats(new long[] {4}, 0.5f, -1f, 2f, 0f));
    TensorMap batch = rollout
        .with(TensorNames.ADVANTAGES, WireTensor.ofBf16Bits(new long[] {4, 5}, bf16Pattern(20)))
        .with(TensorNames.OLD_LOG_PROBS, WireTensor.ofFloats(new long[] {4, 5}, new float[20]));
    List<TensorLayout> layout = List.of(
        new TensorLayout("model.embed_tokens.weight", "BF16", new long[] {8, 4}, 0),
        new TensorLayout("model.norm.weight", "F32", new long[] {4}, 64));
    return List.of(
        new RolloutRequest(GEN, List.of(List.of(1, 2, 3), List.of(151_643, 7)), sampling, 3,
            kit.<RolloutReply>createTestProbe().getRef()),
        new GeneratedSequences(GEN, 3, 2, rollout),
        new RolloutRejected(new RequestId(2, 7, RequestId.Kind.GENERATE, 1), 4, 3, "installed version 3 is older than requested 4"),
        new ScoreRequest(SCORE, 3, rollout, List.of("7", "", "ünïcode", "{\"a\": 1}"),
            kit.<ScoreReply>createTestProbe().getRef()),
        new ScoredExperience(SCORE, 3, Role.REWARD, scores),
        new ScoreFailed(SCORE, Role.REFERENCE, "token id 900 is outside the vocabulary of 320"),
        new ExperienceBatch(BATCH, 7, 3, batch),
        new WeightUpdate(4, 80, 2, layout, DIGEST, kit.<WeightVersionInstalled>createTestProbe().getRef()),
        WeightChunk.of(4, 1, 2, 40, 80, pattern(40), kit.<WeightChunkAck>createTestProbe().getRef()),
        new WeightChunkAck(4, 1, "rollout-0", WeightChunkAck.Status.CHECKSUM_MISMATCH),
        new WeightVersionInstalled(4, "rollout-0", 80),
        new CollectiveRendezvous(4, "gloo", "127.0.0.1", 29_500, SECRET, 3, 1),
        new TrainStep(TRAIN, 7, 3, List.of(BATCH, RequestId.of(1, 8, RequestId.Kind.BATCH)),
            kit.<TrainStepDone>createTestProbe().getRef()),
        new TrainStepDone(TRAIN, Role.CRITIC, 7, 4, List.of(BATCH),
            Map.of("policy_loss", 0.125, "kl", Double.NaN, "entropy", 1.5), ""),
        new SyncWeights(4, List.of(kit.<RolloutCommand>createTestProbe().getRef()),
            kit.<WeightsSynced>createTestProbe().getRef()),
        new WeightsSynced(4, List.of("rollout-0", "rollout-1"), 80, 0.25, "artery", ""),
        new CheckpointRequest(CKPT, 7, 4, "/tmp/run/.tmp-iter_8", false, kit.<CheckpointReply>createTestProbe().getRef()),
        new CheckpointSaved(CKPT, Role.POLICY, 7, 4, "/tmp/run/.tmp-iter_8/policy", 1 << 20, "ab".repeat(32)),
        new CheckpointFailed(CKPT, Role.CRITIC, "disk full"),
        new StatusQuery(kit.<RoleStatus>createTestProbe().getRef()),
        new RoleStatus(Role.ROLLOUT, "rollout-0", RoleStatus.State.SYNCING_WEIGHTS, 3, "cuda:0,1", 2, "", "run-1"),
        new RestoreState(RESTORE, "run-1", "/ckpt/iter_8/policy", kit.<RestoreReply>createTestProbe().getRef()),
        new StateRestored(RESTORE, Role.POLICY, 8, "/ckpt/iter_8/policy"),
        new RestoreFailed(RESTORE, Role.CRITIC, "/ckpt/iter_8/critic/model/model.safetensors: SHA-256 mismatch",
            RestoreFailed.Cause.CORRUPT),
        new RollBack(RESTORE, "run-1", 8, kit.<RolledBack>createTestProbe().getRef()),
        new RolledBack(RESTORE, "pekko://rlhf@127.0.0.1:2553/user/rollout", 8),
        new RankCommand.Join(9, 0, Role.POLICY, "10.0.0.5", 41_233, SECRET, 4, 2, kit.<TrainerCommand>createTestProbe().getRef(),
            kit.<RankTaskDone>createTestProbe().getRef()),
        new RankCommand.Score(9, 1, SCORE, kit.<RankTaskDone>createTestProbe().getRef()),
        new RankCommand.Train(9, 2, List.of(BATCH), 7, kit.<RankTaskDone>createTestProbe().getRef()),
        new RankCommand.Payload(9, 3, 4, kit.<RankTaskDone>createTestProbe().getRef()),
        new RankCommand.Export(9, 4, "/tmp/run/hf", kit.<RankTaskDone>createTestProbe().getRef()),
        new RankCommand.WritePart(9, 5, "/tmp/run/.tmp-iter_8/policy", "iter_8", 8, 4, "run-1",
            kit.<RankTaskDone>createTestProbe().getRef()),
        new RankCommand.Restore(9, 6, "/ckpt/iter_8/policy", kit.<RankTaskDone>createTestProbe().getRef()),
        new RankTaskDone(9, 5, "rank 3: disk full", false));
  }

  /** BF16 bit patterns including a quiet NaN, a signalling NaN, -0, +inf and a subnormal. */
  static short[] bf16Pattern(int n) {
    short[] bits = new short[n];
    short[] special = {(short) 0x7FC1, (short) 0x7F81, (short) 0x8000, (short) 0x7F80, (short) 0x0001};
    for (int i = 0; i < n; i++) {
      bits[i] = i < special.length ? special[i] : (short) (0x3F80 + i);
    }
    return bits;
  }
}
