# Shared by the scripts in deps.d: apt_install PKG... installs the Debian
# packages that are missing (one apt-get update per run).
apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing Debian packages: ${missing[*]} — install them with: sudo apt-get install ${missing[*]}" >&2
		return 1
	fi
	if [ ! -e /tmp/.nudge-apt-updated ]; then
		apt-get update -qq && touch /tmp/.nudge-apt-updated
	fi
	# Another apt (a second checkout's make) may hold the lock: wait for it.
	DEBIAN_FRONTEND=noninteractive apt-get install -o DPkg::Lock::Timeout=600 -y -qq "${missing[@]}" >/dev/null
}
