/**
 * The `agora` command. Daemons: `local`, `master`, `agent`, `marathon`, with
 * Mesos' and Marathon's flag names (underscores: --work_dir, --http_port).
 */
import { Command, CommanderError } from 'commander';
import { runAgent } from './commands/agent.js';
import { type Running, runUntilSignalled } from './commands/daemon.js';
import { runLocal } from './commands/local.js';
import { runMarathon } from './commands/marathon.js';
import { runMaster } from './commands/master.js';

const print = (line: string) => process.stdout.write(`${line}\n`);
const printErr = (line: string) => process.stderr.write(`${line}\n`);

async function serve(start: () => Promise<Running>): Promise<void> {
  const running = await start();
  for (const line of running.banner) print(line);
  runUntilSignalled(running, printErr);
}

export function buildProgram(): Command {
  const program = new Command('agora')
    .description('Agora: a Mesos-style cluster manager with a Marathon-compatible scheduler')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('local')
    .description('run a master, agents and marathon on this machine (no ZooKeeper or Redis needed)')
    .option('--work_dir <dir>', 'where sandboxes, logs and state go', './.agora')
    .option('--agents <n>', 'how many agents', '3')
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('--master_port <port>', 'master port', '5050')
    .option('--agent_port <port>', 'first agent port (then +1, +2…)', '5051')
    .option('--marathon_port <port>', 'marathon port', '8080')
    .option('--task_ports_from <port>', 'first host port for tasks (each agent gets 1000)', '31000')
    .action((flags) => serve(() => runLocal(flags)));

  program
    .command('master')
    .description('run a master (leader election through ZooKeeper with --zk)')
    .option('--port <port>', 'port to listen on', '5050')
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('--hostname <name>', 'hostname to advertise')
    .option('--zk <url>', 'zk://host:2181[,host:2181]/path for leader election (absent: standalone)')
    .option('--work_dir <dir>', 'where the master keeps its registry')
    .option('--allocation_interval <duration>', 'batch allocation interval (Mesos duration)', '1secs')
    .option('--agent_ping_timeout <duration>', 'interval of the health pings to agents', '15secs')
    .option('--max_agent_ping_timeouts <n>', 'missed pongs after which an agent is unreachable', '5')
    .option('--agent_reregister_timeout <duration>', 'how long agents have to re-register after a failover', '10mins')
    .option(
      '--recovery_agent_removal_limit <percent>',
      'most agents that may be marked unreachable after a failover; beyond it the master fails over',
      '100%',
    )
    .option(
      '--agent_removal_rate_limit <rate>',
      'most agents removed after failing health checks, as <removals>/<duration> (e.g. 1/10mins); default unlimited',
    )
    .option('--filter_gpu_resources <bool>', 'offer agents with gpus only to GPU_RESOURCES frameworks', 'true')
    .option('--fair_sharing_excluded_resource_names <names>', 'resources left out of DRF shares (comma list)', 'gpus')
    .action((flags) =>
      serve(() =>
        runMaster(flags, (reason) => {
          printErr(`master: ${reason}`);
          process.exit(2);
        }),
      ),
    );

  program
    .command('agent')
    .description('run an agent that registers with the leading master')
    .option('--master <master>', 'host:port or zk://host:2181/path')
    .option('--port <port>', 'port to listen on', '5051')
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('--hostname <name>', 'hostname to advertise')
    .option('--work_dir <dir>', 'directory for sandboxes and agent state (required)')
    .option('--resources <resources>', "e.g. 'cpus:4;mem:4096;disk:10000;ports:[31000-32000]' (default: detected)")
    .option('--attributes <attributes>', "e.g. 'rack:r1;zone:a'")
    .option(
      '--isolation <isolators>',
      'e.g. cgroups/cpu,cgroups/mem,namespaces/pid,disk/du or posix/cpu,posix/mem (default: what the host supports)',
    )
    .option('--cgroups_enable_cfs', 'hard-cap each task at its cpus (CFS quota)')
    .option('--cgroups_root <name>', 'cgroup below which task containers go', 'agora')
    .option('--cgroups_version <auto|v1|v2>', 'cgroup hierarchy for containers (auto: v2 with cpu+memory, else v1)')
    .option('--enforce_container_disk_quota', "kill a task whose sandbox outgrows its 'disk'")
    .option('--container_disk_watch_interval <duration>', 'how often sandbox disk usage is measured', '15secs')
    .option('--gc_delay <duration>', 'remove a finished sandbox this long after its last change', '1weeks')
    .option('--gc_disk_headroom <fraction>', 'free-disk fraction to keep: a fuller disk shortens gc_delay', '0.1')
    .option('--disk_watch_interval <duration>', 'how often the disk is checked and sandboxes collected', '1mins')
    .option('--fetcher_stall_timeout <duration>', 'fail a URI download that receives nothing for this long', '1mins')
    .option('--fetcher_cache_size <bytes>', 'size limit of the fetcher cache (least recently used evicted)', '2GB')
    .option('--usage_report_interval <duration>', "how often the running tasks' usage is sent to the master", '10secs')
    .option(
      '--executor_reregistration_timeout <duration>',
      'after a restart, how long a recovered custom executor has to re-subscribe',
      '2secs',
    )
    .option('--http_heartbeat_interval <duration>', 'how often custom executors get a HEARTBEAT', '30secs')
    .option(
      '--domain <json|file>',
      'fault domain: \'{"fault_domain":{"region":{"name":"r1"},"zone":{"name":"z1"}}}\' or a JSON file path',
    )
    .option('--simulate', 'run simulated agents: the real protocol, tasks run virtually (for scale tests)')
    .option('--count <n>', 'with --simulate: how many agents in this process (ports --port, --port+1, …)', '1')
    .option(
      '--simulate_task_duration <duration>',
      "with --simulate: how long a task runs ('0secs' = until killed)",
      '0secs',
    )
    .option('--simulate_failure_rate <fraction>', 'with --simulate: the fraction of tasks that fail', '0')
    .action((flags) => serve(() => runAgent(flags)));

  program
    .command('marathon')
    .description('run the Marathon-compatible framework')
    .option('--master <master>', 'host:port or zk://host:2181/path of the masters')
    .option('--http_port <port>', 'port for the /v2 API', '8080')
    .option('--port <port>', 'alias of --http_port')
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('--hostname <name>', 'hostname to advertise')
    .option('--redis <url>', 'redis://host:6379 for state (absent: files under --state_dir)')
    .option('--state_dir <dir>', 'directory for state without Redis')
    .option('--zk <url>', 'zk://host:2181/path for marathon leader election')
    .option('--framework_name <name>', 'framework name', 'marathon')
    .option('--mesos_role <role>', 'role to register with')
    .option('--http_endpoints <urls>', 'comma list of event callback URLs subscribed at start (kept in the store)')
    .option('--zk_session_timeout <ms>', 'ZooKeeper session timeout of the leader election, ms', '10000')
    .option('--enable_features <list>', 'comma list of optional features (secrets, gpu_resources, …)')
    .option('--secrets_dir <dir>', 'directory secret sources are read from (secret "db/pw" = file <dir>/db/pw)')
    .option(
      '--event_subscriber_queue_size <n>',
      'events waiting per callback subscriber before the oldest drop',
      '10000',
    )
    .option(
      '--event_log_size <n>',
      'events kept in the durable event log (how far behind a callback subscriber may be and still catch up)',
      '100000',
    )
    .option(
      '--event_stream_max_outstanding_messages <n>',
      'frames a slow /v2/events reader may lag before cut-off',
      '1024',
    )
    .action((flags) => serve(() => runMarathon(flags)));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    printErr(`agora: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
}

const code = await main(process.argv.slice(2));
if (code !== 0) process.exit(code);
