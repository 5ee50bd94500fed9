# Starts real MariaDB servers for the suites (source after lib.sh): each with its own my.cnf,
# data dir, tmpdir, socket and port under $WORK, stopped by PID with the other servers.

# start_mariadb NAME SERVER_ID [EXTRA my.cnf LINES]: sets PORT_<NAME> and SOCK_<NAME>.
start_mariadb() {
  local name=$1 id=$2 dir="$WORK/$1" port
  port=$(closed_port)
  mkdir -p "$dir/data" "$dir/tmp"
  cat > "$dir/my.cnf" <<CNF
[mysqld]
user=$(id -un)
datadir=$dir/data
tmpdir=$dir/tmp
socket=$dir/mysqld.sock
pid-file=$dir/mysqld.pid
log-error=$dir/error.log
port=$port
bind-address=127.0.0.1
server-id=$id
log-bin=$dir/binlog
gtid-strict-mode=1
log-slave-updates
skip-name-resolve
innodb-buffer-pool-size=16M
innodb-log-file-size=8M
performance-schema=0
${3:-}
[client]
socket=$dir/mysqld.sock
CNF
  mariadb-install-db --defaults-file="$dir/my.cnf" --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 \
    || { echo "mariadb-install-db failed for $name: $(tail -5 "$dir/install.log")"; exit 1; }
  setsid mariadbd --defaults-file="$dir/my.cnf" </dev/null >/dev/null 2>&1 &
  STARTED_PIDS+=($!)
  for _ in $(seq 200); do mariadb-admin --defaults-file="$dir/my.cnf" -uroot ping >/dev/null 2>&1 && break; sleep 0.05; done
  mariadb-admin --defaults-file="$dir/my.cnf" -uroot ping >/dev/null 2>&1 || { echo "mariadbd $name did not start: $(tail -5 "$dir/error.log")"; exit 1; }
  printf -v "PORT_$name" '%s' "$port"
  printf -v "SOCK_$name" '%s' "$dir/mysqld.sock"
}

# sql NAME STATEMENTS: runs SQL as root over the server's socket.
sql() { mariadb --defaults-file="$WORK/$1/my.cnf" -uroot -N -B -e "$2"; }

# start_replication PRIMARY REPLICA PASSWORD: a repl user and a monitor user (password PASSWORD)
# on the primary, GTID replication to the replica, a heartbeat table; waits until it flows.
start_replication() {
  local primary=$1 replica=$2 password=$3 port_var="PORT_$1"
  sql "$primary" "CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY '$password'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';
    CREATE USER 'monitor'@'127.0.0.1' IDENTIFIED BY '$password';
    GRANT REPLICATION CLIENT, SUPER, SELECT, INSERT, UPDATE, DELETE ON *.* TO 'monitor'@'127.0.0.1';
    CREATE USER 'monitor'@'localhost' IDENTIFIED BY '$password';
    GRANT REPLICATION CLIENT, SUPER, SELECT, INSERT, UPDATE, DELETE ON *.* TO 'monitor'@'localhost';
    CREATE DATABASE heartbeat; CREATE TABLE heartbeat.heartbeat (ts VARCHAR(26) NOT NULL, server_id INT UNSIGNED NOT NULL PRIMARY KEY);
    CREATE DATABASE app; CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20));"
  sql "$replica" "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${!port_var}, MASTER_USER='repl', MASTER_PASSWORD='$password',
    MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START SLAVE;"
  for _ in $(seq 200); do
    [ "$(sql "$replica" "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='app'" 2>/dev/null)" = "1" ] && return 0
    sleep 0.05
  done
  echo "replication $primary -> $replica did not start: $(sql "$replica" 'SHOW SLAVE STATUS\G' | grep -E 'Running|Error')"
  exit 1
}
