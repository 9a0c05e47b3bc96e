package org.rlhfnode.runtime.algo.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The remote reward client against real local HTTP servers speaking OpenRLHF's protocol: the request
 * JSON, how a batch is cut over several endpoints, retries with backoff, timeouts and the final errors.
 */
class RemoteRewardTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final List<HttpServer> servers = new ArrayList<>();
  private final ExecutorService handlers = Executors.newCachedThreadPool();
  private final CountDownLatch release = new CountDownLatch(1);

  /** What a handler answers: status and body for the n-th request (1-based) it gets. */
  private interface Answer {
    Object[] reply(int n, JsonNode request);
  }

  private record Server(URI url, List<JsonNode> requests, AtomicInteger count) {}

  private Server serve(Answer answer) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    List<JsonNode> requests = new CopyOnWriteArrayList<>();
    AtomicInteger count = new AtomicInteger();
    server.createContext("/get_reward", exchange -> respond(exchange, answer, requests, count));
    server.setExecutor(handlers);
    server.start();
    servers.add(server);
    return new Server(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/get_reward"), requests,
        count);
  }

  private static void respond(HttpExchange exchange, Answer answer, List<JsonNode> requests, AtomicInteger count)
      throws IOException {
    JsonNode request = JSON.readTree(exchange.getRequestBody());
    requests.add(request);
    Object[] r = answer.reply(count.incrementAndGet(), request);
    byte[] body = ((String) r[1]).getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders((Integer) r[0], body.length);
    exchange.getResponseBody().write(body);
    exchange.close();
  }

  @AfterEach
  void stop() {
    release.countDown();
    servers.forEach(s -> s.stop(0));
    handlers.shutdownNow();
  }

  private static RemoteReward client(int attempts, Duration timeout, Server... s) {
    List<URI> urls = new ArrayList<>();
    for (Server x : s) {
      urls.add(x.url());
    }
    return new RemoteReward(new RemoteReward.Options(urls, timeout, attempts, Duration.ofMillis(1)));
  }

  private static List<String> texts(String prefix, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(prefix + i);
    }
    return out;
  }

  /** Reward = the length of each query, scores = 1, extra_logs "acc" = 0.25 for the whole request. */
  private static Object[] lengths(JsonNode request) {
    StringBuilder rewards = new StringBuilder();
    StringBuilder scores = new StringBuilder();
    for (JsonNode q : request.get("query")) {
      rewards.append(rewards.length() == 0 ? "" : ",").append(q.asText().length());
      scores.append(scores.length() == 0 ? "" : ",").append(1);
    }
    return new Object[] {200, "{\"rewards\": [" + rewards + "], \"scores\": [" + scores
        + "], \"extra_logs\": {\"acc\": 0.25}}"};
  }

  @Test
  void postsQueriesPromptsAndLabelsAndSplitsTheBatchOverTheEndpointsAsOpenRlhf() throws IOException {
    Server a = serve((n, r) -> lengths(r));
    Server b = serve((n, r) -> lengths(r));
    List<String> queries = List.of("q0", "q11", "q222", "q3333", "q44444");
    RemoteReward.Result r = client(1, Duration.ofSeconds(10), a, b)
        .score(queries, texts("p", 5), texts("label-", 5));
    // ⌈5/2⌉ = 3: queries 0–2 to the first endpoint, 3–4 to the second
    assertEquals(1, a.requests().size());
    assertEquals(1, b.requests().size());
    JsonNode first = a.requests().get(0);
    assertEquals("[\"q0\",\"q11\",\"q222\"]", first.get("query").toString());
    assertEquals("[\"p0\",\"p1\",\"p2\"]", first.get("prompts").toString());
    assertEquals("[\"label-0\",\"label-1\",\"label-2\"]", first.get("labels").toString());
    assertEquals("[\"q3333\",\"q44444\"]", b.requests().get(0).get("query").toString());
    assertArrayEquals(new double[] {2, 3, 4, 5, 6}, r.rewards(), 0);
    assertArrayEquals(new double[] {1, 1, 1, 1, 1}, r.scores(), 0);
    assertArrayEquals(new double[] {0.25, 0.25, 0.25, 0.25, 0.25}, r.extraLogs().get("acc"), 0);
  }

  @Test
  void anEndpointWithAnEmptyShareIsNotCalledAndScoresDefaultToRewards() throws IOException {
    Server a = serve((n, r) -> new Object[] {200, "{\"rewards\": [0.5]}"});
    Server b = serve((n, r) -> new Object[] {200, "{\"rewards\": [0.5]}"});
    RemoteReward.Result r = client(1, Duration.ofSeconds(10), a, b).score(List.of("q"), List.of("p"), List.of(""));
    assertEquals(1, a.count().get());
    assertEquals(0, b.count().get());
    assertArrayEquals(new double[] {0.5}, r.scores(), 0);
    assertTrue(r.extraLogs().isEmpty());
  }

  @Test
  void failedRequestsAreRetriedWithBackoffUntilOneSucceeds() throws IOException {
    Server s = serve((n, r) -> n <= 2 ? new Object[] {503, "busy"} : new Object[] {200, "{\"rewards\": [1, 0]}"});
    RemoteReward.Result r = client(3, Duration.ofSeconds(10), s).score(List.of("a", "b"), List.of("", ""),
        List.of("", ""));
    assertEquals(3, s.count().get());
    assertArrayEquals(new double[] {1, 0}, r.rewards(), 0);
  }

  @Test
  void theLastFailureEndsTheBatchWithOneLineNamingTheEndpoint() throws IOException {
    Server s = serve((n, r) -> new Object[] {500, "boom\ntrace"});
    RemoteReward reward = client(2, Duration.ofSeconds(10), s);
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> reward.score(List.of("a"), List.of(""), List.of("")));
    assertEquals("--remote_rm_url " + s.url() + ": no reward after 2 attempts (last: HTTP 500 boom trace)",
        e.getMessage());
    assertEquals(2, s.count().get());
  }

  @Test
  void anUnansweredRequestTimesOut() throws IOException {
    Server s = serve((n, r) -> {
      try {
        release.await(60, TimeUnit.SECONDS); // holds the answer until the test ends
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return new Object[] {200, "{\"rewards\": [1]}"};
    });
    RemoteReward reward = client(1, Duration.ofMillis(300), s);
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> reward.score(List.of("a"), List.of(""), List.of("")));
    assertEquals("--remote_rm_url " + s.url() + ": no reward after 1 attempt (last: no answer within 0.3 s)",
        e.getMessage());
  }

  @Test
  void aRefusedConnectionIsNamed() throws IOException {
    Server s = serve((n, r) -> new Object[] {200, "{}"});
    servers.remove(0).stop(0); // nothing listens there any more
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> client(2, Duration.ofSeconds(5), s).score(List.of("a"), List.of(""), List.of("")));
    assertTrue(e.getMessage().endsWith("no reward after 2 attempts (last: connection refused)"), e.getMessage());
  }

  @Test
  void aReplyThatBreaksTheProtocolFailsAtOnce() throws IOException {
    Server s = serve((n, r) -> new Object[] {200, "{\"rewards\": [1]}"});
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> client(3, Duration.ofSeconds(5), s).score(List.of("a", "b"), List.of("", ""), List.of("", "")));
    assertEquals("--remote_rm_url " + s.url() + ": 'rewards' has 1 values for 2 queries", e.getMessage());
    assertEquals(1, s.count().get(), "not retried");
    Server text = serve((n, r) -> new Object[] {200, "<html>"});
    IllegalStateException notJson = assertThrows(IllegalStateException.class,
        () -> client(3, Duration.ofSeconds(5), text).score(List.of("a"), List.of(""), List.of("")));
    assertFalse(notJson.getMessage().contains("\n"));
    assertTrue(notJson.getMessage().contains("the reply is not JSON"), notJson.getMessage());
  }

  @Test
  void urlsAndOptionsAreChecked() {
    assertEquals("--remote_rm_url 'ftp://x/y': not an http:// or https:// URL with a host",
        assertThrows(IllegalArgumentException.class,
            () -> RemoteReward.Options.parseUrls(List.of("http://a:1/r", "ftp://x/y"))).getMessage());
    // 3 tries of 10 s plus waits of 1 s and 2 s
    assertEquals(Duration.ofSeconds(33), new RemoteReward.Options(List.of(URI.create("http://a/r")),
        Duration.ofSeconds(10), 3, Duration.ofSeconds(1)).worstCase());
  }
}
