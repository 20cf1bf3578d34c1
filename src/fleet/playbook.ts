/**
 * The Ansible playbook of a fleet, as plain text a user can read, edit and
 * rerun with `ansible-playbook`. Pure: values in, YAML out. Every value that
 * comes from the user is written `!unsafe` (a JSON string, valid YAML) so
 * Ansible never evaluates it as a template.
 *
 * Per host, in inventory order, `serial` hosts at a time:
 *   resume   skip the host when its fetched results are already complete
 *   connect  an unreachable host is recorded and ended, the others go on
 *   install  copy the isobench source (a tarball the controller made, or git)
 *   setup    the README's setup (bash scripts/setup.sh), or the host's own argv
 *   doctor   `isobench doctor --json`, kept; a failing check is reported, not a reason to drop the host
 *   run      the scenario with the host's run id; --resume when an earlier attempt left a partial run
 *   fetch    results/<run-id>/ back to results/<fleet-id>/<inventory-host>/
 * A failure in any stage is caught (block/rescue): the stage, the error and
 * the output go to fleet-logs/<host>/status.json and the other hosts go on.
 * A host lost mid-stage (SSH dropped, crash, reboot) is UNREACHABLE to
 * Ansible, which a rescue does not catch and which, with serial batches,
 * ends the play: the block ignores unreachable results and every task on the
 * host is followed by a check that turns "lost during this task" into a
 * failure of its stage, which the rescue records like any other.
 */

/**
 * After a task on the host: a host lost during it fails the task's stage (the
 * name's prefix), so the rescue records it and the play goes on.
 */
function lostCheck(stage: string, reg: string): string {
  return `
        - name: "${stage}: host lost during the step above"
          ansible.builtin.fail:
            msg: "{{ 'host unreachable: ' ~ (${reg}.msg | default('connection lost')) }}"
          when: ${reg}.unreachable | default(false)
`;
}

export interface PlaybookInput {
  fleetId: string;
  /** Absolute fleet directory on the controller. */
  fleetDir: string;
  /** Scenario file on the controller (the fleet's copy). */
  scenarioFile: string;
  /** Tarball of the source on the controller, or a git URL. */
  source: { kind: 'tarball'; path: string } | { kind: 'git'; url: string; version: string };
  /** Hosts per batch (ansible `serial`). */
  serial: number;
  /** Default install directory on each host (inventory var isobench_remote_dir overrides it per host). */
  remoteDir: string;
}

const q = (s: string): string => `!unsafe ${JSON.stringify(s)}`;

export function renderPlaybook(p: PlaybookInput): string {
  const src =
    p.source.kind === 'tarball'
      ? `    isobench_source_kind: tarball\n    isobench_source_tarball: ${q(p.source.path)}\n`
      : `    isobench_source_kind: git\n    isobench_source_git: ${q(p.source.url)}\n` +
        `    isobench_source_version: ${q(p.source.version)}\n`;
  return `# isobench fleet ${p.fleetId}: written by \`isobench fleet ansible\`. Plain Ansible: read it,
# edit it, rerun it (from this directory, so ansible.cfg's log_path applies):
#   ansible-playbook -i <inventory> playbook.yml [--limit HOSTS]
# Hosts whose results are already complete here are skipped, so a rerun
# resumes an interrupted fleet host by host.
#
# Inventory variables a host may set:
#   isobench_remote_dir       where isobench lives on the host (default ${p.remoteDir})
#   isobench_setup_argv       the setup command as a list (default [bash, scripts/setup.sh])
#   isobench_node_modules     share this node_modules directory instead of npm ci (hosts on one machine)
#   isobench_npm_cache        npm's cache directory for setup's npm ci (e.g. one shared with the controller)
#   isobench_setup_env        more environment for the setup command (a dict)
# setup's npm ci prefers the npm cache (npm_config_prefer_offline): a host that
# has the packages does not ask the registry again.
- name: isobench fleet ${p.fleetId}
  hosts: all
  gather_facts: false
  serial: ${p.serial}
  # A failed or unreachable host must not stop the others.
  max_fail_percentage: 100
  vars:
    fleet_id: ${q(p.fleetId)}
    fleet_dir: ${q(p.fleetDir)}
    scenario_file: ${q(p.scenarioFile)}
${src}    isobench_default_dir: ${q(p.remoteDir)}
    isobench_dir: "{{ isobench_remote_dir | default(isobench_default_dir) }}"
    setup_argv: "{{ isobench_setup_argv | default(['bash', 'scripts/setup.sh']) }}"
    # setup's npm ci takes what npm's cache has without asking the registry again (npm_config_prefer_offline).
    npm_cache_env: "{{ {'npm_config_cache': isobench_npm_cache} if isobench_npm_cache is defined else {} }}"
    setup_env: "{{ {'npm_config_prefer_offline': 'true'} | combine(npm_cache_env)
      | combine(isobench_setup_env | default({})) }}"
    run_id: "{{ fleet_id }}-{{ inventory_hostname | regex_replace('[^A-Za-z0-9._-]', '_') }}"
    host_dir: "{{ fleet_dir }}/{{ inventory_hostname }}"
    log_dir: "{{ fleet_dir }}/fleet-logs/{{ inventory_hostname }}"
    remote_scenario: "{{ isobench_dir }}/fleet/{{ fleet_id }}.yaml"
    remote_run_dir: "{{ isobench_dir }}/results/{{ run_id }}"
    remote_tarball: "{{ isobench_dir }}/fleet/{{ run_id }}.tar.gz"
  tasks:
    - name: "resume: read the results already fetched for this host"
      ansible.builtin.slurp:
        src: "{{ host_dir }}/results.json"
      delegate_to: localhost
      register: fetched_results
      failed_when: false

    - name: "resume: skip this host, its results are complete"
      ansible.builtin.meta: end_host
      when: fetched_results.content is defined
        and (fetched_results.content | b64decode | from_json).status == 'complete'

    - name: "prepare: log directory on the controller, previous status removed"
      ansible.builtin.file:
        path: "{{ log_dir }}"
        state: directory
        mode: "0755"
      delegate_to: localhost

    - name: "prepare: forget the previous attempt's status"
      ansible.builtin.file:
        path: "{{ log_dir }}/status.json"
        state: absent
      delegate_to: localhost

    # An unreachable host would end a serial batch, and with it the play (Ansible stops when a
    # whole batch fails): check the connection ourselves, record it, and end only this host.
    - name: "connect: reach the host"
      ansible.builtin.ping:
      ignore_unreachable: true
      # No Python on the host fails here: recorded like unreachable, not a failed batch.
      ignore_errors: true
      register: reach

    - name: "connect: record an unreachable host"
      ansible.builtin.copy:
        content: "{{ {'stage': 'connect', 'task': 'connect: reach the host', 'runId': run_id,
          'error': reach.msg | default('unreachable')} | to_nice_json }}\\n"
        dest: "{{ log_dir }}/status.json"
        mode: "0644"
      delegate_to: localhost
      when: (reach.unreachable | default(false)) or (reach.failed | default(false))

    - name: "connect: end this host"
      ansible.builtin.meta: end_host
      when: (reach.unreachable | default(false)) or (reach.failed | default(false))

    - name: "measure {{ inventory_hostname }}"
      # A host lost mid-block is checked after each task on it (lostCheck), not left to end the play.
      ignore_unreachable: true
      # The host's own results directory, whatever the controller's environment says (a local connection inherits it).
      environment:
        ISOBENCH_RESULTS: "{{ isobench_dir }}/results"
        ISOBENCH_REPORTS: "{{ isobench_dir }}/reports"
      block:
        - name: "install: isobench directory"
          ansible.builtin.file:
            path: "{{ isobench_dir }}/fleet"
            state: directory
            mode: "0755"
          register: install_dir
${lostCheck('install', 'install_dir')}
        - name: "install: copy the isobench source to the host"
          ansible.builtin.unarchive:
            src: "{{ isobench_source_tarball }}"
            dest: "{{ isobench_dir }}"
          when: isobench_source_kind == 'tarball'
          register: install_tar
${lostCheck('install', 'install_tar')}
        - name: "install: check out the isobench source"
          ansible.builtin.git:
            repo: "{{ isobench_source_git }}"
            version: "{{ isobench_source_version }}"
            dest: "{{ isobench_dir }}"
          when: isobench_source_kind == 'git'
          register: install_git
${lostCheck('install', 'install_git')}
        - name: "install: share node_modules"
          ansible.builtin.file:
            src: "{{ isobench_node_modules }}"
            dest: "{{ isobench_dir }}/node_modules"
            state: link
            force: true
          when: isobench_node_modules is defined
          register: install_link
${lostCheck('install', 'install_link')}
        - name: "setup: the README's setup (Node, packages, npm ci, guest kernel)"
          ansible.builtin.command:
            argv: "{{ setup_argv }}"
            chdir: "{{ isobench_dir }}"
          environment: "{{ setup_env }}"
          register: setup_out
          changed_when: false
${lostCheck('setup', 'setup_out')}
        - name: "setup: keep the log"
          ansible.builtin.copy:
            content: "{{ setup_out.stdout }}\\n{{ setup_out.stderr }}\\n"
            dest: "{{ log_dir }}/setup.log"
            mode: "0644"
          delegate_to: localhost

        - name: "doctor: what this host can run"
          ansible.builtin.command:
            argv: ["./bin/isobench.js", "doctor", "--json"]
            chdir: "{{ isobench_dir }}"
          register: doctor_out
          changed_when: false
          # 1 = some check failed: the host is reported, its run still tells which backends work.
          failed_when: doctor_out.rc not in [0, 1]
${lostCheck('doctor', 'doctor_out')}
        - name: "doctor: keep the report"
          ansible.builtin.copy:
            content: "{{ doctor_out.stdout }}\\n"
            dest: "{{ log_dir }}/doctor.json"
            mode: "0644"
          delegate_to: localhost

        - name: "run: the scenario on the host"
          ansible.builtin.copy:
            src: "{{ scenario_file }}"
            dest: "{{ remote_scenario }}"
            mode: "0644"
          register: run_scenario
${lostCheck('run', 'run_scenario')}
        - name: "run: an earlier attempt of this run on the host?"
          ansible.builtin.slurp:
            src: "{{ remote_run_dir }}/results.json"
          register: remote_results
          failed_when: false
${lostCheck('run', 'remote_results')}
        # An attempt lost before it wrote results.json measured nothing; its directory would refuse --run-id.
        - name: "run: drop an earlier attempt that left no results"
          ansible.builtin.file:
            path: "{{ remote_run_dir }}"
            state: absent
          when: remote_results.content is not defined
          register: run_drop
${lostCheck('run', 'run_drop')}
        - name: "run: isobench run (resumes an interrupted attempt)"
          ansible.builtin.command:
            argv: "{{ ['./bin/isobench.js', 'run', remote_scenario, '--no-report', '--quiet']
              + (['--resume', run_id] if remote_results.content is defined else ['--run-id', run_id]) }}"
            chdir: "{{ isobench_dir }}"
          register: run_out
          changed_when: true
          when: remote_results.content is not defined
            or (remote_results.content | b64decode | from_json).status != 'complete'
          # 1 = the run is partial or failed: what it measured is still fetched.
          failed_when: run_out.rc not in [0, 1]
${lostCheck('run', 'run_out')}
        - name: "run: keep the log"
          ansible.builtin.copy:
            content: "rc={{ run_out.rc }}\\n{{ run_out.stdout }}\\n{{ run_out.stderr }}\\n"
            dest: "{{ log_dir }}/run.log"
            mode: "0644"
          delegate_to: localhost
          when: run_out.rc is defined

        - name: "fetch: pack the run directory"
          ansible.builtin.command:
            argv: ["tar", "-czf", "{{ remote_tarball }}", "-C", "{{ isobench_dir }}/results", "{{ run_id }}"]
          changed_when: false
          register: fetch_pack
${lostCheck('fetch', 'fetch_pack')}
        - name: "fetch: copy it to the controller"
          ansible.builtin.fetch:
            src: "{{ remote_tarball }}"
            dest: "{{ log_dir }}/results.tar.gz"
            flat: true
          register: fetch_copy
${lostCheck('fetch', 'fetch_copy')}
        - name: "fetch: host directory in the fleet directory"
          ansible.builtin.file:
            path: "{{ host_dir }}"
            state: directory
            mode: "0755"
          delegate_to: localhost

        - name: "fetch: unpack into the fleet directory"
          ansible.builtin.unarchive:
            src: "{{ log_dir }}/results.tar.gz"
            dest: "{{ host_dir }}"
            remote_src: true
            extra_opts: ["--strip-components=1"]
          delegate_to: localhost

        - name: "fetch: status"
          ansible.builtin.copy:
            content: "{{ {'stage': 'done', 'runId': run_id, 'runRc': run_out.rc | default(0)} | to_nice_json }}\\n"
            dest: "{{ log_dir }}/status.json"
            mode: "0644"
          delegate_to: localhost

      rescue:
        - name: "failed: keep the failed step's output as <stage>.log"
          ansible.builtin.copy:
            content: "{{ ansible_failed_task.name }}\\nrc={{ ansible_failed_result.rc | default('') }}\\n{{
              ansible_failed_result.msg | default('') }}\\n{{ ansible_failed_result.stdout | default('') }}\\n{{
              ansible_failed_result.stderr | default('') }}\\n"
            dest: "{{ log_dir }}/{{ ansible_failed_task.name.split(':')[0] }}.log"
            mode: "0644"
          delegate_to: localhost

        - name: "failed: record the stage, the error and the output"
          ansible.builtin.copy:
            content: "{{ {'stage': ansible_failed_task.name.split(':')[0], 'task': ansible_failed_task.name,
              'runId': run_id, 'error': ansible_failed_result.msg | default(''),
              'rc': ansible_failed_result.rc | default(none), 'stdout': ansible_failed_result.stdout | default(''),
              'stderr': ansible_failed_result.stderr | default('')} | to_nice_json }}\\n"
            dest: "{{ log_dir }}/status.json"
            mode: "0644"
          delegate_to: localhost
`;
}

/**
 * ansible.cfg beside the playbook: ansible's own log, where unreachable hosts are named; and SSH pipelining, so
 * each task is one SSH session instead of three or four (module copy, run, clean-up): the play has some forty
 * short tasks per host. (Pipelining only conflicts with sudo's `requiretty`; the play does not use become.)
 */
export function renderAnsibleCfg(logPath: string): string {
  return `# isobench fleet: read by ansible-playbook when run from this directory.
[defaults]
log_path = ${logPath}
retry_files_enabled = False

[ssh_connection]
pipelining = True
`;
}
