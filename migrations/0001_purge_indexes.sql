CREATE INDEX `device_codes_expires` ON `device_codes` (`expires_at`);--> statement-breakpoint
CREATE INDEX `grants_expires` ON `grants` (`expires_at`);--> statement-breakpoint
CREATE INDEX `grants_revoked` ON `grants` (`revoked_at`) WHERE "grants"."revoked_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `login_approvals_auth_time` ON `login_approvals` (`auth_time`);--> statement-breakpoint
CREATE INDEX `refresh_tokens_expires` ON `refresh_tokens` (`expires_at`);--> statement-breakpoint
CREATE INDEX `revoked_access_tokens_expires` ON `revoked_access_tokens` (`expires_at`);--> statement-breakpoint
CREATE INDEX `sessions_expires` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE INDEX `single_uses_used` ON `single_uses` (`used_at`);