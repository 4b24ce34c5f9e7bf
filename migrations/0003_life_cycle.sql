CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`event` text NOT NULL,
	`actor` text NOT NULL,
	`user_id` text,
	`client_id` text,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `audit_log_user` ON `audit_log` (`user_id`,`at`);--> statement-breakpoint
CREATE INDEX `audit_log_at` ON `audit_log` (`at`);--> statement-breakpoint
ALTER TABLE `clients` ADD `registration_token_hash` text;--> statement-breakpoint
ALTER TABLE `grants` ADD `sid` text;--> statement-breakpoint
CREATE INDEX `grants_client` ON `grants` (`client_id`);