-- AlterTable
ALTER TABLE "webhook_deliveries" ADD COLUMN     "finished_at" TIMESTAMPTZ(3);

-- Deliveries recorded before this column were answered (or lost) long ago: count them as finished.
UPDATE "webhook_deliveries" SET "finished_at" = "received_at";
