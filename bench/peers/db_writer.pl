#!/usr/bin/env perl
# The application during a database role switch (bench/db_switch.sh): inserts one row every
# 1/RATE s with ids 1, 2, 3, ... into bench.w, always on whichever of the servers is writable.
# An insert refused with 1290 (read-only), or whose connection failed, is retried with the same
# id on the other server (1 ms apart after trying both), so the ids stay contiguous. Each
# acknowledged id is written to LOG as "ID ACK_TIME_US PORT" the moment the server said OK; an
# id whose retry met 1062 (duplicate: the first attempt had committed) is acknowledged then,
# with " dup". Stops at SIGTERM. Passwords come from the environment (DB_WRITER_PASSWORD).
# Usage: db_writer.pl PORT_A PORT_B USER RATE LOG
use strict;
use warnings;
use DBI;
use IO::Handle;
use Time::HiRes qw(time sleep);

my ($port_a, $port_b, $user, $rate, $log_path) = @ARGV;
die "usage: db_writer.pl PORT_A PORT_B USER RATE LOG\n" unless defined $log_path;
my $password = $ENV{DB_WRITER_PASSWORD} // die "DB_WRITER_PASSWORD is not set\n";
my @ports = ($port_a, $port_b);
my @dbh = (undef, undef);
my $stop = 0;
$SIG{TERM} = $SIG{INT} = sub { $stop = 1 };
open(my $log, '>>', $log_path) or die "$log_path: $!\n";
$log->autoflush(1);

sub handle {
  my ($i) = @_;
  return $dbh[$i] if $dbh[$i];
  $dbh[$i] = DBI->connect(
    "DBI:mysql:database=bench;host=127.0.0.1;port=$ports[$i];mysql_connect_timeout=1;"
      . "mysql_read_timeout=2;mysql_write_timeout=2",
    $user, $password, {RaiseError => 0, PrintError => 0, AutoCommit => 1});
  return $dbh[$i];
}

my $interval = 1 / $rate;
my ($cur, $id, $next) = (0, 0, time);
while (!$stop) {
  my $wait = $next - time;
  sleep($wait) if $wait > 0;
  $next = ($wait > -$interval ? $next : time) + $interval;  # never a burst to catch up
  $id++;
  my $tries = 0;
  while (!$stop) {
    my $db = handle($cur);
    if ($db) {
      if ($db->do("INSERT INTO w (id, port) VALUES (?, ?)", undef, $id, $ports[$cur])) {
        printf $log "%d %.0f %d\n", $id, time * 1e6, $ports[$cur];
        last;
      }
      my $err = $db->err // 0;
      if ($err == 1062) {
        printf $log "%d %.0f %d dup\n", $id, time * 1e6, $ports[$cur];
        last;
      }
      # 1290: this server is read-only; anything else but a connection error is a bug here.
      die "insert $id on $ports[$cur]: $err " . $db->errstr . "\n"
        unless $err == 1290 || $err == 2006 || $err == 2013 || $err == 1927 || $err == 4031;
      if ($err != 1290) { $db->disconnect; $dbh[$cur] = undef; }
    }
    $cur = 1 - $cur;
    sleep(0.001) if ++$tries % 2 == 0;
  }
}
close $log;
