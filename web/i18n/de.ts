// German messages. Typed against the English catalog, so a missing key fails the build.
import type { Messages } from './en.ts';

export const de: Messages = {
  'app.name': 'Shadowmail',
  'app.tagline': 'Notfall-Webmail',
  'layout.skipToContent': 'Zum Inhalt springen',
  'layout.signedInAs': 'Angemeldet als {name}',
  'layout.signOut': 'Abmelden',
  'layout.mainNavigation': 'Hauptnavigation',
  'layout.footer': 'Shadowmail bewahrt eine Kopie eingehender E-Mails auf, solange Exchange nicht erreichbar ist.',

  'status.title': 'Dienststatus',
  'status.normal.heading': 'Normalbetrieb',
  'status.normal.body': 'Exchange funktioniert. Nutzen Sie Outlook wie gewohnt.',
  'status.normal.detail': 'Dieses Notfall-Webmail ist nur geöffnet, solange Exchange nicht erreichbar ist.',
  'status.failover.heading': 'Notfall-Webmail ist geöffnet',
  'status.failover.body': 'Exchange ist derzeit nicht erreichbar. Hier können Sie Ihre E-Mails lesen, beantworten und weiterleiten.',
  'status.failover.since': 'Seit {time}',
  'status.failover.message': 'Nachricht der IT',
  'status.failover.signIn': 'Anmelden',
  'status.failover.continue': 'Zum Postfach',
  'status.unknown.heading': 'Status nicht verfügbar',
  'status.unknown.body': 'Der Dienststatus kann gerade nicht gelesen werden. Bitte versuchen Sie es in einer Minute erneut.',

  'auth.signInFailed.title': 'Anmeldung fehlgeschlagen',
  'auth.signInFailed.body': 'Die Anmeldung konnte nicht abgeschlossen werden. Vielleicht hat sie zu lange gedauert oder wurde in einem anderen Fenster begonnen.',
  'auth.signInFailed.retry': 'Erneut versuchen',
  'auth.signInRequired.title': 'Bitte melden Sie sich an',
  'auth.signInRequired.body': 'Ihre Sitzung ist abgelaufen. Melden Sie sich erneut an, um fortzufahren.',

  'error.csrf.title': 'Anfrage abgelehnt',
  'error.csrf.body': 'Dieses Formular war veraltet oder kam nicht von dieser Seite, daher wurde nichts geändert. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.',
  'error.notFound.title': 'Nicht gefunden',
  'error.notFound.body': 'Hier gibt es nichts.',
  'error.forbidden.title': 'Nicht erlaubt',
  'error.forbidden.body': 'Das dürfen Sie nicht.',
  'error.server.title': 'Etwas ist schiefgegangen',
  'error.server.body': 'Die Anfrage konnte nicht ausgeführt werden. Bitte versuchen Sie es erneut.',
  'error.backHome': 'Zur Startseite',

  'mail.placeholder.title': 'Postfach',
  'mail.placeholder.body': 'Angemeldet als {email}.',
};
