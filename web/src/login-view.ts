/**
 * The sign-in screen: dev login by name (GET /login/:username) and, when the node says OpenID
 * Connect is configured, a "Sign in with OpenID" link to /auth/login.
 */
import { ApiError, login, type AuthConfig, type Session } from './api.ts';
import { byId } from './dom.ts';
import { isValidUsername } from '../../src/domain/names.ts';

export class LoginView {
  private readonly form = byId<HTMLFormElement>('login-form');
  private readonly input = byId<HTMLInputElement>('login-name');
  private readonly submit = byId<HTMLButtonElement>('login-submit');
  private readonly error = byId('login-error');

  constructor(private readonly onLogin: (s: Session) => void) {
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.attempt();
    });
  }

  configure(config: AuthConfig): void {
    this.form.hidden = !config.devLogin;
    byId('oidc-box').hidden = !config.oidc;
    const link = byId<HTMLAnchorElement>('oidc-link');
    link.textContent = config.oidcLabel ? `Sign in with ${config.oidcLabel}` : 'Sign in with OpenID';
    byId('oidc-box').querySelector('.divider')?.toggleAttribute('hidden', !config.devLogin);
  }

  show(message = ''): void {
    byId('login-view').hidden = false;
    this.error.textContent = message;
    this.submit.disabled = false;
    if (!this.form.hidden) this.input.focus();
    else byId('oidc-link').focus();
  }

  hide(): void {
    byId('login-view').hidden = true;
  }

  private async attempt(): Promise<void> {
    const name = this.input.value.trim();
    if (!isValidUsername(name)) {
      this.error.textContent = 'Use 1–64 letters, digits or _ . @ + - (starting with a letter or digit).';
      this.input.setAttribute('aria-invalid', 'true');
      this.input.focus();
      return;
    }
    this.input.removeAttribute('aria-invalid');
    this.error.textContent = '';
    this.submit.disabled = true;
    try {
      this.onLogin(await login(name));
    } catch (err) {
      this.error.textContent = err instanceof ApiError ? err.message : 'Could not reach the server. Try again.';
      this.submit.disabled = false;
      this.input.focus();
    }
  }
}
