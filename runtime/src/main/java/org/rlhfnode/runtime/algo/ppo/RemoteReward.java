package org.rlhfnode.runtime.algo.ppo;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sequence scores s_i (algorithms.md §7.1) from HTTP reward endpoints speaking OpenRLHF's remote reward
 * protocol ({@code --remote_rm_url}). Each request is a POST of JSON
 * {@code {"query": [prompt + response texts], "prompts": [prompt texts], "labels": [labels]}}; the reply
 * is JSON with {@code "rewards"} (one number per query; {@code "scores"} alone is taken when it is
 * missing), optionally {@code "scores"} (what dynamic filtering reads, default the rewards) and
 * {@code "extra_logs"} (name → one number per query, or one number for the whole request), whose
 * means go into the run's metrics.
 *
 * <p>With S endpoints a batch of B queries is cut as OpenRLHF's {@code RemoteRewardModel} does: shares
 * of ⌈B/S⌉ consecutive queries, share k to endpoint k (an endpoint whose share is empty is not called),
 * all in flight together. A request that fails (no connection, no answer within the timeout, a status
 * other than 2xx) is sent again after backoff·2^(k−1) for the k-th retry, up to {@code attempts} tries
 * in all; then the batch fails with one line naming the endpoint and the last failure. A 2xx reply that
 * breaks the protocol fails at once (sending it again would give the same answer).
 */
public final class RemoteReward {
  private static final Logger LOG = LoggerFactory.getLogger(RemoteReward.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int BODY_EXCERPT = 200;

  /**
   * Endpoints and their failure handling.
   *
   * @param urls the endpoints, in order (non-empty, http or https)
   * @param timeout how long one request may take, connection included
   * @param attempts tries per request, ≥ 1
   * @param backoff the wait before the first retry, doubled for each further one
   */
  public record Options(List<URI> urls, Duration timeout, int attempts, Duration backoff) {
    public Options {
      urls = List.copyOf(urls);
      if (urls.isEmpty()) {
        throw new IllegalArgumentException("--remote_rm_url needs at least one URL");
      }
      if (timeout.isNegative() || timeout.isZero() || attempts < 1 || backoff.isNegative()) {
        throw new IllegalArgumentException("remote reward: timeout must be > 0, attempts ≥ 1, backoff ≥ 0; got "
            + timeout + ", " + attempts + ", " + backoff);
      }
    }

    /** The longest a batch can take before it fails: every try timing out, plus the waits between them. */
    public Duration worstCase() {
      long waits = backoff.toMillis() * ((1L << Math.min(attempts - 1, 30)) - 1);
      return timeout.multipliedBy(attempts).plusMillis(waits);
    }

    /** Parses {@code --remote_rm_url}'s entries; the error names the flag and the entry. */
    public static List<URI> parseUrls(List<String> entries) {
      List<URI> out = new ArrayList<>();
      for (String e : entries) {
        try {
          URI u = new URI(e.trim());
          if (u.getHost() == null || !("http".equals(u.getScheme()) || "https".equals(u.getScheme()))) {
            throw new URISyntaxException(e, "not an http:// or https:// URL with a host");
          }
          out.add(u);
        } catch (URISyntaxException x) {
          throw new IllegalArgumentException("--remote_rm_url '" + e.trim() + "': " + x.getReason());
        }
      }
      return out;
    }
  }

  /**
   * The reply for a whole batch, in query order.
   *
   * @param rewards [B] the rewards
   * @param scores [B] the scores for dynamic filtering (the rewards where the endpoint sent none)
   * @param extraLogs name → [B] per-query values, NaN where an endpoint's reply lacked the name
   */
  public record Result(double[] rewards, double[] scores, Map<String, double[]> extraLogs) {}

  private final Options options;
  private final HttpClient client;

  public RemoteReward(Options options) {
    this.options = options;
    this.client = HttpClient.newBuilder().connectTimeout(options.timeout()).build();
  }

  public Options options() {
    return options;
  }

  /** Scores a batch, waiting for every share (call it off any actor thread). */
  public Result score(List<String> queries, List<String> prompts, List<String> labels) {
    try {
      return scoreAsync(queries, prompts, labels).join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
  }

  /** Scores a batch: every share in flight at once. */
  public CompletableFuture<Result> scoreAsync(List<String> queries, List<String> prompts, List<String> labels) {
    int b = queries.size();
    if (prompts.size() != b || labels.size() != b) {
      throw new IllegalArgumentException("remote reward: " + b + " queries, " + prompts.size() + " prompts, "
          + labels.size() + " labels");
    }
    int s = options.urls().size();
    int share = (b + s - 1) / s;
    List<CompletableFuture<JsonNode>> replies = new ArrayList<>();
    List<int[]> ranges = new ArrayList<>();
    for (int k = 0; k < s && k * share < b; k++) {
      int from = k * share;
      int to = Math.min(b, from + share);
      String body = body(queries.subList(from, to), prompts.subList(from, to), labels.subList(from, to));
      ranges.add(new int[] {from, to});
      replies.add(post(options.urls().get(k), body, 1));
    }
    return CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)).thenApply(v -> {
      Result out = new Result(new double[b], new double[b], new LinkedHashMap<>());
      for (int k = 0; k < replies.size(); k++) {
        read(options.urls().get(k), replies.get(k).join(), ranges.get(k), out);
      }
      return out;
    });
  }

  private static String body(List<String> queries, List<String> prompts, List<String> labels) {
    ObjectNode o = JSON.createObjectNode();
    o.set("query", strings(queries));
    o.set("prompts", strings(prompts));
    o.set("labels", strings(labels));
    return o.toString();
  }

  private static ArrayNode strings(List<String> values) {
    ArrayNode a = JSON.createArrayNode();
    values.forEach(a::add);
    return a;
  }

  /** One share's request, tried {@code attempt}-th time now and again after backoff until it succeeds. */
  private CompletableFuture<JsonNode> post(URI url, String body, int attempt) {
    HttpRequest request = HttpRequest.newBuilder(url).timeout(options.timeout())
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    return client.sendAsync(request, HttpResponse.BodyHandlers.ofString()).handle((response, error) -> {
      String failure = error != null ? describe(error)
          : response.statusCode() / 100 != 2 ? "HTTP " + response.statusCode() + " " + excerpt(response.body())
          : null;
      if (failure == null) {
        return CompletableFuture.completedFuture(parse(url, response.body()));
      }
      if (attempt >= options.attempts()) {
        return CompletableFuture.<JsonNode>failedFuture(new IllegalStateException("--remote_rm_url " + url
            + ": no reward after " + attempt + " attempt" + (attempt == 1 ? "" : "s") + " (last: " + failure + ")"));
      }
      long wait = options.backoff().toMillis() << Math.min(attempt - 1, 30);
      LOG.info("remote reward {}: attempt {} of {} failed ({}); retrying in {} ms", url, attempt,
          options.attempts(), failure, wait);
      return CompletableFuture.runAsync(() -> {}, CompletableFuture.delayedExecutor(wait, TimeUnit.MILLISECONDS))
          .thenCompose(v -> post(url, body, attempt + 1));
    }).thenCompose(f -> f);
  }

  private String describe(Throwable error) {
    Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    if (e instanceof HttpTimeoutException) {
      return "no answer within " + options.timeout().toMillis() / 1000.0 + " s";
    }
    if (e instanceof ConnectException) {
      return "connection refused";
    }
    return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
  }

  private static String excerpt(String body) {
    String line = body == null ? "" : body.replaceAll("\\s+", " ").strip();
    return line.length() > BODY_EXCERPT ? line.substring(0, BODY_EXCERPT) + "…" : line;
  }

  private static JsonNode parse(URI url, String body) {
    try {
      JsonNode n = JSON.readTree(body);
      if (n == null || !n.isObject()) {
        throw new IllegalStateException("--remote_rm_url " + url + ": the reply is not a JSON object: "
            + excerpt(body));
      }
      return n;
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("--remote_rm_url " + url + ": the reply is not JSON: " + excerpt(body));
    }
  }

  /** Copies one share's reply into {@code out} at {@code range}. */
  private static void read(URI url, JsonNode reply, int[] range, Result out) {
    int n = range[1] - range[0];
    String where = "--remote_rm_url " + url + ": ";
    JsonNode rewards = reply.has("rewards") ? reply.get("rewards") : reply.get("scores");
    if (rewards == null) {
      throw new IllegalStateException(where + "the reply has neither 'rewards' nor 'scores'");
    }
    double[] r = numbers(where + "'rewards'", rewards, n);
    double[] s = reply.has("scores") ? numbers(where + "'scores'", reply.get("scores"), n) : r;
    System.arraycopy(r, 0, out.rewards(), range[0], n);
    System.arraycopy(s, 0, out.scores(), range[0], n);
    JsonNode logs = reply.get("extra_logs");
    if (logs == null || logs.isNull()) {
      return;
    }
    if (!logs.isObject()) {
      throw new IllegalStateException(where + "'extra_logs' must be an object of name → numbers");
    }
    logs.fields().forEachRemaining(e -> {
      JsonNode value = e.getValue();
      String what = where + "extra_logs '" + e.getKey() + "'";
      double[] v = value.isNumber() ? filled(n, value.asDouble()) // one value for the whole request
          : value.isArray() && value.size() == 1 ? filled(n, numbers(what, value, 1)[0]) : numbers(what, value, n);
      double[] all = out.extraLogs().computeIfAbsent(e.getKey(), k -> filled(out.rewards().length, Double.NaN));
      System.arraycopy(v, 0, all, range[0], n);
    });
  }

  private static double[] numbers(String what, JsonNode node, int n) {
    if (!node.isArray()) {
      throw new IllegalStateException(what + " must be a list of numbers, got " + excerpt(node.toString()));
    }
    if (node.size() != n) {
      throw new IllegalStateException(what + " has " + node.size() + " values for " + n + " queries");
    }
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      JsonNode v = node.get(i);
      if (!v.isNumber()) {
        throw new IllegalStateException(what + "[" + i + "] is not a number: " + excerpt(v.toString()));
      }
      out[i] = v.asDouble();
    }
    return out;
  }

  private static double[] filled(int n, double v) {
    double[] out = new double[n];
    java.util.Arrays.fill(out, v);
    return out;
  }
}
