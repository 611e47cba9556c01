/**
 * Django's check messages and report (django/core/checks/messages.py, the `check` method of
 * django/core/management/base.py): `?: (id) msg` with a tab-indented HINT, grouped ERRORS then
 * WARNINGS, and the count line.
 * @module
 */
import { CommandError } from './errors.js'

/** One finding (Django's CheckMessage); `obj` names its subject, `?` when there is none. */
export interface CheckMessage {
  level: 'error' | 'warning'
  id: string
  msg: string
  hint?: string
  obj?: string
}

/** Raised when a check finds an error; the message is Django's whole report (exit code 1). */
export class SystemCheckError extends CommandError {
  constructor(text: string) {
    super(text)
    this.name = 'SystemCheckError'
  }
}

/**
 * Django's report (django/core/management/base.py `check`): a header when there are issues, the
 * issues grouped ERRORS then WARNINGS (sorted within a group), and the count line.
 */
export function formatCheckReport(visible: readonly CheckMessage[], silenced = 0): string {
  let body = ''
  for (const [level, title] of [
    ['error', 'ERRORS'],
    ['warning', 'WARNINGS'],
  ] as const) {
    const lines = visible
      .filter((m) => m.level === level)
      .map(formatCheckMessage)
      .sort()
    if (lines.length > 0) body += `\n${title}:\n${lines.join('\n')}\n`
  }
  const count = visible.length
  const counted = count === 0 ? 'no issues' : count === 1 ? '1 issue' : `${count} issues`
  const footer = `${count > 0 ? '\n' : ''}System check identified ${counted} (${silenced} silenced).`
  if (count === 0) return footer
  const header = 'System check identified some issues:\n'
  const serious = visible.some((m) => m.level === 'error')
  return `${serious ? 'SystemCheckError: ' : ''}${header}${body}${footer}`
}

/** `obj: (id) msg` and a tab-indented HINT line, as Django's CheckMessage.__str__. */
export function formatCheckMessage(message: CheckMessage): string {
  const hint = message.hint ? `\n\tHINT: ${message.hint}` : ''
  return `${message.obj ?? '?'}: (${message.id}) ${message.msg}${hint}`
}
