// Issue 5 workload for the PostgreSQL JDBC driver through Meridian (compiled with javac and run by
// session-drivers-jdbc.test.ts). prepareThreshold=1: every PreparedStatement is a named server
// statement from its first execution. Adds a batch insert (addBatch/executeBatch: many
// Bind/Execute before one Sync). Checks every result; prints a JSON object with the observations
// (which server port served which step) on stdout.
//
// usage: java -cp postgresql.jar:DIR JdbcWorkload URL USER PASSWORD TABLE SCHEMA

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Properties;

public final class JdbcWorkload {
  private static final String EPOCH = "2020-01-01 00:00:00+00";
  private static final String EPOCH_TOKYO = "2020-01-01 09:00:00+09";
  private static final List<String> OBS = new ArrayList<>();

  private interface Check<T> {
    T get() throws SQLException;
  }

  private static void see(String step, String kind, int port, String group) {
    OBS.add(String.format("{\"step\":\"%s\",\"kind\":\"%s\",\"port\":%d,\"group\":%s}", step, kind, port,
        group == null ? "null" : "\"" + group + "\""));
  }

  private static void expect(Object actual, Object expected, String what) {
    if (!Objects.equals(actual, expected)) throw new AssertionError(what + ": expected " + expected + ", got " + actual);
  }

  private static <T> T eventually(String what, Check<T> check) throws Exception {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (true) {
      T v = check.get();
      if (v != null) return v;
      if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
      Thread.sleep(50);
    }
  }

  private static void expectState(SQLException e, String state, String what) {
    if (!state.equals(e.getSQLState())) throw new AssertionError(what + ": expected SQLSTATE " + state + ", got " + e.getSQLState() + " " + e.getMessage());
  }

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String table = args[3];
    String schema = args[4];
    Properties props = new Properties();
    props.setProperty("user", args[1]);
    props.setProperty("password", args[2]);
    props.setProperty("prepareThreshold", "1");
    props.setProperty("connectTimeout", "10");
    props.setProperty("socketTimeout", "60");
    try (Connection c = DriverManager.getConnection(url, props)) {
      run(c, table, schema);
    }
    System.out.println("{\"driver\":\"" + org.postgresql.Driver.class.getPackage().getImplementationVersion()
        + "\",\"observations\":[" + String.join(",", OBS) + "]}");
  }

  private static void run(Connection c, String table, String schema) throws Exception {
    PreparedStatement add = c.prepareStatement("select ?::int + 1, inet_server_port()");
    for (int i = 0; i < 5; i++) {
      add.setInt(1, i);
      try (ResultSet r = add.executeQuery()) {
        r.next();
        expect(r.getInt(1), i + 1, "prepared read");
        see("prepared read", "read", r.getInt(2), null);
      }
    }
    PreparedStatement ins = c.prepareStatement("insert into " + table + "(id, v) values (?, ?) returning id, inet_server_port()");
    for (int i = 1; i <= 5; i++) {
      ins.setInt(1, i);
      ins.setString(2, "v" + i);
      try (ResultSet r = ins.executeQuery()) {
        r.next();
        expect(r.getInt(1), i, "prepared insert");
        see("prepared insert", "write", r.getInt(2), null);
      }
    }
    PreparedStatement count = c.prepareStatement("select count(*)::int, coalesce(sum(n), 0)::int, inet_server_port() from " + table + " where id between ? and ?");
    Check<int[]> count5 = () -> countRange(count, 1, 5, "prepared count");
    eventually("5 rows on a replica", () -> { int[] r = count5.get(); return r[0] == 5 ? r : null; });

    // Batch insert in autocommit: one request of many Bind/Execute, one implicit transaction.
    PreparedStatement batch = c.prepareStatement("insert into " + table + "(id, v, n) values (?, ?, ?)");
    for (int i = 0; i < 200; i++) {
      batch.setInt(1, 1000 + i);
      batch.setString(2, "batch-" + i);
      batch.setInt(3, i);
      batch.addBatch();
    }
    int[] counts = batch.executeBatch();
    expect(counts.length, 200, "batch result count");
    for (int n : counts) if (n != 1 && n != Statement.SUCCESS_NO_INFO) throw new AssertionError("batch update count " + n);
    int[] got = eventually("200 batched rows on a replica", () -> { int[] r = countRange(count, 1000, 1199, "count batched rows"); return r[0] == 200 ? r : null; });
    expect(got[1], 199 * 200 / 2, "sum of batched n");

    // Read-write transaction, then a batch inside a transaction.
    c.setAutoCommit(false);
    PreparedStatement upd = c.prepareStatement("update " + table + " set n = n + ? where id = ? returning n, inet_server_port()");
    upd.setInt(1, 10);
    upd.setInt(2, 1);
    try (ResultSet r = upd.executeQuery()) {
      r.next();
      expect(r.getInt(1), 10, "update in tx");
      see("update in tx", "write", r.getInt(2), "tx1");
    }
    PreparedStatement one = c.prepareStatement("select n, inet_server_port() from " + table + " where id = ?");
    one.setInt(1, 1);
    try (ResultSet r = one.executeQuery()) {
      r.next();
      expect(r.getInt(1), 10, "read in tx");
      see("read in write tx", "write", r.getInt(2), "tx1");
    }
    for (int i = 0; i < 50; i++) {
      batch.setInt(1, 2000 + i);
      batch.setString(2, "txbatch-" + i);
      batch.setInt(3, 1);
      batch.addBatch();
    }
    expect(batch.executeBatch().length, 50, "batch in tx");
    c.commit();
    c.setAutoCommit(true);
    eventually("committed update on a replica", () -> {
      one.setInt(1, 1);
      try (ResultSet r = one.executeQuery()) {
        r.next();
        see("prepared read after commit", "read", r.getInt(2), null);
        return r.getInt(1) == 10 ? r.getInt(1) : null;
      }
    });
    eventually("50 rows batched in a transaction", () -> { int[] r = countRange(count, 2000, 2049, "count tx batch"); return r[0] == 50 ? r : null; });

    // Read-only transaction (the driver sends BEGIN READ ONLY): a replica.
    c.setReadOnly(true);
    c.setAutoCommit(false);
    for (int i = 0; i < 3; i++) {
      add.setInt(1, i);
      try (ResultSet r = add.executeQuery()) {
        r.next();
        see("read in read-only tx", "read", r.getInt(2), "rotx");
      }
    }
    c.commit();
    c.setAutoCommit(true);
    c.setReadOnly(false);

    try (Statement s = c.createStatement()) {
      s.execute("set search_path = " + schema + ", public");
    }
    PreparedStatement marker = c.prepareStatement("select v, current_setting('search_path'), inet_server_port() from marker");
    for (int i = 0; i < 5; i++) {
      try (ResultSet r = marker.executeQuery()) {
        r.next();
        expect(r.getString(1), schema, "marker via search_path");
        expect(r.getString(2), schema + ", public", "search_path");
        see("marker via search_path", "read", r.getInt(3), null);
      }
    }
    c.setAutoCommit(false);
    try (ResultSet r = marker.executeQuery()) {
      r.next();
      expect(r.getString(1), schema, "marker in tx");
      see("marker in write tx", "write", r.getInt(3), "tx2");
    }
    ins.setInt(1, 6);
    ins.setString(2, "v6");
    try (ResultSet r = ins.executeQuery()) {
      r.next();
      see("insert via search_path", "write", r.getInt(2), "tx2");
    }
    c.commit();
    c.setAutoCommit(true);

    try (Statement s = c.createStatement()) {
      s.execute("set timezone = 'Asia/Tokyo'");
    }
    PreparedStatement tz = c.prepareStatement("select current_setting('TimeZone'), ?::timestamptz::text, inet_server_port()");
    for (int i = 0; i < 5; i++) {
      tz.setString(1, EPOCH);
      try (ResultSet r = tz.executeQuery()) {
        r.next();
        expect(r.getString(1) + " " + r.getString(2), "Asia/Tokyo " + EPOCH_TOKYO, "timezone read");
        see("timezone read", "read", r.getInt(3), null);
      }
    }
    c.setAutoCommit(false);
    tz.setString(1, EPOCH);
    try (ResultSet r = tz.executeQuery()) {
      r.next();
      expect(r.getString(1) + " " + r.getString(2), "Asia/Tokyo " + EPOCH_TOKYO, "timezone in tx");
      see("timezone in write tx", "write", r.getInt(3), "tx3");
    }
    c.commit();
    c.setAutoCommit(true);

    try (Statement s = c.createStatement()) {
      s.execute("create temp table tmp_pin(a int)");
    }
    try (PreparedStatement p = c.prepareStatement("insert into tmp_pin values (?) returning inet_server_port()")) {
      p.setInt(1, 1);
      try (ResultSet r = p.executeQuery()) {
        r.next();
        see("temp insert", "write", r.getInt(1), "temp");
      }
    }
    try (PreparedStatement p = c.prepareStatement("select count(*)::int, inet_server_port() from tmp_pin"); ResultSet r = p.executeQuery()) {
      r.next();
      expect(r.getInt(1), 1, "temp read");
      see("temp read", "write", r.getInt(2), "temp");
    }
    add.setInt(1, 1);
    try (ResultSet r = add.executeQuery()) {
      r.next();
      see("plain read while pinned", "write", r.getInt(2), "temp");
    }
    try (Statement s = c.createStatement()) {
      s.execute("drop table tmp_pin");
    }
    add.setInt(1, 2);
    try (ResultSet r = add.executeQuery()) {
      r.next();
      see("read after unpin", "read", r.getInt(2), null);
    }

    // Failed transaction: the error, 25P02 until rollback, nothing kept.
    c.setAutoCommit(false);
    ins.setInt(1, 100);
    ins.setString(2, "lost");
    try (ResultSet r = ins.executeQuery()) {
      r.next();
      see("insert in failing tx", "write", r.getInt(2), "tx4");
    }
    try (Statement s = c.createStatement()) {
      s.executeQuery("select 1/0");
      throw new AssertionError("1/0 succeeded");
    } catch (SQLException e) {
      expectState(e, "22012", "division by zero");
    }
    try {
      add.setInt(1, 1);
      add.executeQuery().close();
      throw new AssertionError("statement after an error succeeded");
    } catch (SQLException e) {
      expectState(e, "25P02", "in failed transaction");
    }
    c.rollback();
    c.setAutoCommit(true);
    ins.setInt(1, 101);
    ins.setString(2, "kept");
    try (ResultSet r = ins.executeQuery()) {
      r.next();
      see("insert after rollback", "write", r.getInt(2), null);
    }
    PreparedStatement ids = c.prepareStatement("select string_agg(id::text, ',' order by id), inet_server_port() from " + table + " where id between 100 and 999");
    String idList = eventually("row 101", () -> {
      try (ResultSet r = ids.executeQuery()) {
        r.next();
        see("read ids", "read", r.getInt(2), null);
        String s = r.getString(1);
        return s != null && s.contains("101") ? s : null;
      }
    });
    expect(idList, "101", "ids after the failed transaction");

    PreparedStatement settings = c.prepareStatement("select current_setting('search_path'), current_setting('TimeZone'), inet_server_port()");
    for (int i = 0; i < 3; i++) {
      try (ResultSet r = settings.executeQuery()) {
        r.next();
        expect(r.getString(1) + "|" + r.getString(2), schema + ", public|Asia/Tokyo", "settings at end");
        see("settings at end", "read", r.getInt(3), null);
      }
    }
  }

  private static int[] countRange(PreparedStatement count, int from, int to, String step) throws SQLException {
    count.setInt(1, from);
    count.setInt(2, to);
    try (ResultSet r = count.executeQuery()) {
      r.next();
      see(step, "read", r.getInt(3), null);
      return new int[] {r.getInt(1), r.getInt(2)};
    }
  }
}
