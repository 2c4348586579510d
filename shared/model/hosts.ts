/** A loopback host name or address (`::1` without brackets): plain http stays on this machine. */
export function isLoopback(hostName: string): boolean {
  return hostName === "localhost" || hostName === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostName);
}
